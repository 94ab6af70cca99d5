"""Channel renderers: turn one `Answer` into messages that read natively in a channel.

Kept apart from retrieval (what to say) and from the connectors (how to deliver it): a
renderer only builds the payload the channel's connector sends as it is.
"""

from __future__ import annotations

from actions.render.base import RenderedMessage, Renderer
from actions.render.markdown import MarkdownRenderer
from actions.render.slack import SlackRenderer
from actions.render.sms import SmsRenderer
from actions.render.telegram import TelegramRenderer

_RENDERERS: dict[str, Renderer] = {}


def register(channel: str, renderer: Renderer) -> None:
    _RENDERERS[channel] = renderer


def renderer_for(channel: str | None) -> Renderer:
    """The channel's renderer; REST and unknown channels get Markdown plus structure."""
    return _RENDERERS.get(channel or "", MarkdownRenderer())


register("slack", SlackRenderer())
register("telegram", TelegramRenderer())
register("sms", SmsRenderer())

__all__ = ["RenderedMessage", "Renderer", "renderer_for", "register"]
