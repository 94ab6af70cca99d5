"""Long, story-like messages: the decision reads the sentences that ask (`knowledge.asking`)."""

import pytest

from knowledge.asking import asking_part

STORY = (
    "Hi there. My daughter set up the thermostat for me at Christmas and she has gone back "
    "to university now. I have forgotten the password and cannot get into the app. "
    "How do I reset my password?"
)


def test_the_ask_is_found_after_the_story():
    # The ask names too few words of its own, so the sentence before it comes along.
    assert asking_part(STORY) == (
        "I have forgotten the password and cannot get into the app. How do I reset my password?"
    )


def test_a_short_ask_takes_the_sentence_before_it_along():
    message = (
        "The screen on the thermostat in the hall has stayed black since the storm last night. "
        "The breaker is on and the furnace runs. What now?"
    )
    assert asking_part(message) == "The breaker is on and the furnace runs. What now?"


@pytest.mark.parametrize(
    "message",
    [
        "how do i reset my password",  # a question, not a story
        "My order arrived damaged and the box was crushed, can I get a replacement or a refund for it?",
        "Can I return it? Do you refund shipping?",  # every sentence asks: nothing to set apart
        "My thermostat shows W3. The router was replaced yesterday. The app says offline.",  # no ask
    ],
)
def test_messages_without_a_separate_ask_take_todays_path(message):
    assert asking_part(message) == ""
