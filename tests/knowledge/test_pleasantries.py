"""A greeting, thanks or a hedge around a question is not part of it (issue 17).

Wrapped in "Hi Anna, ... Cheers", a question the bot answers bare lost its confident answer
about a third of the time: each social word is a word no article has. These check the text
the engine searches; `tests/knowledge/test_service.py`-style checks on the real index are in
`test_wrapped_questions` below.
"""

from __future__ import annotations

import pytest

from knowledge.pleasantries import without_pleasantries


@pytest.mark.parametrize(
    ("message", "question"),
    [
        ("Hi Anna, how do I cancel my plan? Cheers", "how do I cancel my plan?"),
        ("hey team 👋 quick q - refund??", "refund??"),
        ("hello how do i cancel my plan thank you", "how do i cancel my plan"),
        ("Hello Priya, hope you're well. does nimbus work with alexa?", "does nimbus work with alexa?"),
        ("could you let me know the return window please", "the return window"),
        ("sorry to bother you but is there a student discount?", "is there a student discount?"),
        ("how long do refunds take? Many thanks, Rahul", "how long do refunds take?"),
        ("how long do refunds take?\nPriya", "how long do refunds take?"),
        ("Hi, hope you're well. can I pause my plan? Regards, T.O.", "can I pause my plan?"),
        ("was hoping you could tell me how to pair the thermostat :)", "how to pair the thermostat"),
        ("omg ok where is my order?? ty ty", "where is my order??"),
    ],
)
def test_the_question_is_read_without_its_wrapping(message: str, question: str) -> None:
    assert without_pleasantries(message) == question


@pytest.mark.parametrize(
    "message",
    [
        "how do I reset my password?",
        "morning schedule not working",  # "morning" is a topic here, not a greeting
        "thanks for the refund, when will it arrive?",  # "thanks for the refund" says something
        "is it ok to unplug the thermostat?",
        "help center login not working",
        "which is better - Pro or Basic?",
        "morning schedule, why does it not run?",  # a greeting word that names a topic here
        "Good price, but is shipping free?",
    ],
)
def test_a_question_without_wrapping_is_searched_as_typed(message: str) -> None:
    assert without_pleasantries(message) == message


@pytest.mark.parametrize("message", ["thanks!", "hi there", "Regards", "hello?", "thank you so much 🙏"])
def test_nothing_but_courtesy_is_left_as_typed(message: str) -> None:
    """The dialogue decides what to do with a bare courtesy; the search never gets ""."""
    assert without_pleasantries(message) == message
