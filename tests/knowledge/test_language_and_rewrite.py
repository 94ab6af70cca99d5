"""Language detection and the model's standalone-question rewrite (no model server needed)."""

from __future__ import annotations

import pytest

from knowledge.answer.prompt import Turn, build_messages, build_standalone_messages, clean_standalone
from knowledge.documents import Passage
from knowledge.language import detect


@pytest.mark.parametrize(
    "text,language",
    [
        ("¿Cuánto cuesta el envío a España?", "es"),
        ("Wie lange dauert die Rückerstattung?", "de"),
        ("Mon thermostat ne se connecte pas au wifi", "fr"),
        ("esqueci minha senha", "pt"),
        ("do you ship to canada?", "en"),
        ("my thermostat screen is blank", "en"),
        # Languages the bot has no texts for are named as themselves, never as the nearest
        # of its five (an Italian question read as Spanish got a Spanish reply).
        ("Quanto costa la spedizione in Italia?", "it"),
        ("Come posso reimpostare la password?", "it"),
        ("Hoe kan ik mijn wachtwoord opnieuw instellen?", "nl"),
        ("Kiedy otrzymam zwrot pieniędzy?", "pl"),
        ("Как сбросить пароль?", "ru"),
        ("如何重置密码?", "zh"),
        # Too short to tell: the conversation's language is kept.
        ("hola", None),
        ("PayPal?", None),
        ("ok", None),
    ],
)
def test_language_of_short_customer_messages(text, language):
    assert detect(text) == language


def test_standalone_request_carries_the_conversation_and_asks_for_english():
    messages = build_standalone_messages(
        "and how long does that take?",
        [Turn("customer", "how do I update the firmware"), Turn("assistant", "Press the dial [1].")],
    )
    system, user = messages[0]["content"], messages[1]["content"]
    assert "one standalone question in English" in system
    assert "customer: how do I update the firmware" in system
    assert user == "<customer_question>\nand how long does that take?\n</customer_question>"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ('"How long does a firmware update take?"', "How long does a firmware update take?"),
        ("NO_ANSWER", None),
        ("", None),
        ("Firmware updates take 10 minutes.\nThey install at night.", None),  # answered, not restated
        ("x" * 400, None),
    ],
)
def test_only_a_usable_rewrite_is_searched(raw, expected):
    assert clean_standalone(raw) == expected


def test_answer_prompt_keeps_structure_rules_language_and_the_restated_question():
    passage = Passage(
        "c1", "a", "Firmware updates", "", "How updates are installed", "An update takes 10 minutes.", 1
    )
    messages = build_messages(
        "¿Cuánto tarda?",
        [passage],
        channel="sms",
        language="Spanish",
        restated="How long does an update take?",
    )
    system, user = messages[0]["content"], messages[1]["content"]
    assert "- Answer in Spanish." in system
    assert "steps stay a numbered list" in system and "rows the customer needs as short lines" in system
    assert "Stay within 340 characters" in system  # the SMS budget of knowledge/budget.py
    assert "<restated_question>\nHow long does an update take?\n</restated_question>" in user
