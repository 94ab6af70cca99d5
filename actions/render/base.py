"""The small interface every channel renderer implements."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from knowledge.documents import Answer, Source

HELPFUL_INTENT = "feedback_helpful"
UNHELPFUL_INTENT = "feedback_unhelpful"
HUMAN_PAYLOAD = "/request_human"


@dataclass
class RenderedMessage:
    """Keyword arguments for `dispatcher.utter_message`, ready to send."""

    text: str | None = None
    json_message: dict[str, Any] | None = None
    buttons: list[dict[str, Any]] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.text is not None:
            kwargs["text"] = self.text
        if self.json_message is not None:
            kwargs["json_message"] = self.json_message
        if self.buttons:
            kwargs["buttons"] = self.buttons
        return kwargs


class Renderer(Protocol):
    def render(self, answer: Answer, feedback_ref: str | None = None) -> list[RenderedMessage]: ...


def feedback_payload(intent: str, ref: str) -> str:
    """The user message a feedback button sends back; Rasa reads `/intent{json}` itself."""
    return f"/{intent}" + json.dumps({"ref": ref}, separators=(",", ":"))


def source_label(source: Source) -> str:
    label = f"[{source.number}] {source.title}"
    return f"{label}, page {source.page}" if source.page else label


def sources_by_number(answer: Answer) -> dict[int, Source]:
    return {source.number: source for source in answer.sources}


# Under a confident answer: articles that ranked nearly as high (`Answer.see_also`).
SEE_ALSO = "See also"

# "These articles may help": the reply when the engine is unsure (answer.method == "suggest").
SUGGESTIONS_INTRO = "I'm not sure I have the exact answer, but these articles may help:"
SUGGESTIONS_OUTRO = 'If they don\'t, say "human" to reach our support team.'
