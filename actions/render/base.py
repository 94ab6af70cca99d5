"""The small interface every channel renderer implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from knowledge.documents import Answer


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
    def render(self, answer: Answer) -> list[RenderedMessage]: ...
