"""Channel renderers: turn one `Answer` into messages that read natively in a channel.

Kept apart from retrieval (what to say) and from the connectors (how to deliver it): a
renderer only builds the payload the channel's connector sends as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from actions.render import markdown, slack, sms, telegram, whatsapp
from actions.render.base import RenderedMessage, Renderer
from actions.render.markdown import MarkdownRenderer
from actions.render.slack import SlackRenderer
from actions.render.sms import SmsRenderer
from actions.render.telegram import TelegramRenderer
from actions.render.whatsapp import WhatsAppRenderer
from knowledge.documents import Answer

_RENDERERS: dict[str, Renderer] = {}


def register(channel: str, renderer: Renderer) -> None:
    _RENDERERS[channel] = renderer


def renderer_for(channel: str | None) -> Renderer:
    """The channel's renderer; REST and unknown channels get Markdown plus structure."""
    return _RENDERERS.get(channel or "", MarkdownRenderer())


register("slack", SlackRenderer())
register("telegram", TelegramRenderer())
register("sms", SmsRenderer())
register("whatsapp", WhatsAppRenderer())

# "These articles may help" has its own, simpler shape in every channel (a short list of
# links, no feedback buttons), so it gets its own function per channel.
_SUGGESTIONS: dict[str, Callable[[Answer], list[RenderedMessage]]] = {
    "slack": slack.render_suggestions,
    "telegram": telegram.render_suggestions,
    "sms": sms.render_suggestions,
    "whatsapp": whatsapp.render_suggestions,
}


def render_suggestions(channel: str | None, answer: Answer) -> list[RenderedMessage]:
    """The suggestions reply for the channel; REST and unknown channels get Markdown."""
    return _SUGGESTIONS.get(channel or "", markdown.render_suggestions)(answer)


__all__ = ["RenderedMessage", "Renderer", "render_suggestions", "renderer_for", "register"]
