"""Speaking the customer's language in the action server.

Decision: the bot's own texts live in bot/domain.yml as response variations with a
`condition` on the `language` slot, so one file holds every language and Rasa picks the
variation itself on later turns (greeting, handoff, "I don't know"). The knowledge
action detects the language (knowledge/language.py) and sets the slot; what it says in
the same turn cannot wait for Rasa to apply that slot, so it picks the variation from the
domain it is sent, with Rasa's own order of preference.
"""

from __future__ import annotations

from typing import Any

from knowledge.documents import Answer
from knowledge.language import ENGLISH, SUPPORTED, detect

LANGUAGE_SLOT = "language"
# Keys rasa-sdk puts in every message; any other key is a template variable ({contact}).
_MESSAGE_KEYS = {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}
POINTER_INTRO = "utter_english_articles"
# For a language the bot has no texts for: its English texts, saying which languages it answers in.
OTHER_LANGUAGE_INTRO = "utter_other_language_articles"
OFFER_PERSON = "utter_offer_person"


def customer_language(text: str, metadata: dict | None, slot_value: str | None) -> str:
    """This message's language; a message too short to tell keeps the conversation's."""
    detected = detect(text)
    if detected:
        return detected
    hinted = (metadata or {}).get("language") if isinstance(metadata, dict) else None
    if isinstance(hinted, str) and hinted.strip():
        return hinted.strip().lower()[:2]
    return slot_value or ENGLISH


def _matches(variation: dict, language: str) -> bool:
    conditions = variation.get("condition") or []
    return all(
        c.get("type") == "slot" and c.get("name") == LANGUAGE_SLOT and str(c.get("value")) == language
        for c in conditions
    )


def pick_variation(domain: dict[str, Any], name: str, language: str, channel: str) -> dict | None:
    """The variation Rasa would choose with `language` in the slot (see the domain's note)."""
    variations = (domain or {}).get("responses", {}).get(name) or []
    language = language if language and language != ENGLISH else ""
    conditional = [v for v in variations if v.get("condition") and language and _matches(v, language)]
    plain = [v for v in variations if not v.get("condition")]
    for group in (
        [v for v in conditional if v.get("channel") == channel],
        [v for v in plain if v.get("channel") == channel],
        [v for v in conditional if not v.get("channel")],
        [v for v in plain if not v.get("channel")],
    ):
        if group:
            return group[0]
    return None


def localize_messages(messages: list[dict], domain: dict, language: str, channel: str) -> None:
    """Replace `response=` messages collected this turn by their text in `language`."""
    if not language or language == ENGLISH:
        return
    for message in messages:
        name = message.get("response")
        variation = pick_variation(domain, name, language, channel) if name else None
        if variation and variation.get("text"):
            # Rasa fills `{name}` from the message's extra keys only for a response it
            # generates itself; a text sent as it is must arrive filled.
            text = variation["text"]
            for key, value in message.items():
                if key not in _MESSAGE_KEYS and value is not None:
                    text = text.replace("{" + key + "}", str(value))
            message["text"] = text
            message["response"] = message["template"] = None
            if variation.get("buttons"):
                message["buttons"] = variation["buttons"]


def pointer_answer(answer: Answer, domain: dict, language: str, channel: str) -> Answer:
    """The nearest articles as links, introduced and followed by an offer of a person,
    in the customer's language; rendered like any answer, so links read natively."""

    def text_of(name: str, fallback: str) -> str:
        variation = pick_variation(domain, name, language, channel)
        return (variation or {}).get("text") or fallback

    sources = answer.sources[:1] if channel == "sms" else answer.sources
    if not language or language in SUPPORTED:
        intro = text_of(POINTER_INTRO, "These help articles are the closest to your question:")
    else:
        intro = text_of(
            OTHER_LANGUAGE_INTRO,
            "I answer in English, Spanish, German, French and Portuguese. These help articles "
            "(in English) are the closest to your question:",
        )
    links = "\n".join(f"- [{s.title}]({s.url})" if s.url else f"- {s.title}" for s in sources)
    offer = text_of(OFFER_PERSON, "If you'd rather talk to a person from our support team, just say so.")
    text = "\n\n".join(part for part in (intro, links, offer) if part)
    return Answer(text=text, sources=[], grounded=False, method="pointer", passages=answer.passages)


__all__ = ["LANGUAGE_SLOT", "customer_language", "localize_messages", "pick_variation", "pointer_answer"]
