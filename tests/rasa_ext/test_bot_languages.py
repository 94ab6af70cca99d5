"""The bot's own messages in the customer's language, as Rasa itself picks them from
bot/domain.yml: every response exists in Spanish, German, French and Portuguese, and a
customer who wrote in Spanish and asked for a person hears every step of the handoff
(queued, team away, handed back, timed out) in Spanish, on SMS too."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "bot" / "domain.yml"))
LANGUAGES = ("es", "de", "fr", "pt")
# Every response is something the customer reads (issue 18: "the bot's own responses
# (greeting, don't know, handoff) exist in those languages too").
# Except the one said only to a customer writing in a language the bot has no texts for,
# which says in English which languages it answers in.
ONLY_FOR_OTHER_LANGUAGES = {"utter_other_language_articles"}
CUSTOMER_FACING = tuple(sorted(set(DOMAIN.responses) - ONLY_FOR_OTHER_LANGUAGES))
# A word each language's text of these responses contains and English does not.
MARKERS = {"es": "equipo", "de": "Team", "fr": "équipe", "pt": "equipa"}


def text(response: str, language: str | None, channel: str) -> str:
    tracker = DialogueStateTracker("c-1", DOMAIN.slots)
    if language:
        tracker.update(SlotSet("language", language))
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    message = asyncio.run(
        nlg.generate(response, tracker, channel, opens="Monday 8am ET", contact="help@nimbus.example.")
    )
    return message["text"]


@pytest.mark.parametrize("response", CUSTOMER_FACING)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", ["slack", "telegram", "sms", "rest"])
def test_customer_facing_responses_are_in_the_customers_language(response, language, channel):
    english = text(response, None, channel)
    localized = text(response, language, channel)
    assert localized != english
    assert "{" not in localized  # placeholders filled, e.g. when the team is back


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", ["telegram", "sms"])
def test_a_queued_handoff_speaks_the_language_of_the_conversation(language, channel):
    waiting = text("utter_handoff_waiting", language, channel)
    assert MARKERS[language] in waiting
    assert "Monday 8am ET" in text("utter_handoff_waiting_closed", language, channel)
