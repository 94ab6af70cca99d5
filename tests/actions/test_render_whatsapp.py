"""The WhatsApp renderer writes WhatsApp's formatting, never HTML or Markdown links."""

from __future__ import annotations

from actions.render.whatsapp import FEEDBACK_PROMPT, WhatsAppRenderer
from knowledge.documents import Answer, Source

SOURCE = Source(1, "Resetting the hub", "https://help.example/reset", "reset")


def text_of(answer: Answer, ref: str | None = None) -> str:
    (message,) = WhatsAppRenderer().render(answer, ref)
    return message.json_message["whatsapp"]["text"]


def test_bold_italic_lists_and_citations_read_natively():
    answer = Answer(
        "To reset, **hold the dial** for _10 seconds_ [1]:\n\n1. Unplug the hub.\n2. Plug it back in.",
        [SOURCE],
    )
    text = text_of(answer)
    assert "*hold the dial*" in text and "_10 seconds_" in text and "**" not in text
    assert "1. Unplug the hub.\n2. Plug it back in." in text
    assert "[1]" in text and "[1] Resetting the hub: https://help.example/reset" in text
    assert "<" not in text and "](" not in text


def test_a_markdown_link_becomes_label_and_bare_url():
    text = text_of(Answer("See [the guide](https://help.example/guide).", []))
    assert text == "See the guide (https://help.example/guide)."


def test_feedback_is_asked_for_in_words():
    assert text_of(Answer("Done.", []), ref="abc").endswith(FEEDBACK_PROMPT)
