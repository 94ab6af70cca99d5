"""Channel renderers: turn one `Answer` into messages that read natively in a channel.

Kept apart from retrieval (what to say) and from the connectors (how to deliver it).
"""

from __future__ import annotations

from actions.render.base import RenderedMessage, Renderer
from actions.render.markdown import MarkdownRenderer

_RENDERERS: dict[str, Renderer] = {}


def register(channel: str, renderer: Renderer) -> None:
    _RENDERERS[channel] = renderer


def renderer_for(channel: str | None) -> Renderer:
    return _RENDERERS.get(channel or "", MarkdownRenderer())


__all__ = ["RenderedMessage", "Renderer", "renderer_for", "register"]
