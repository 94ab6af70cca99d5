"""Read the custom payloads the action server's renderers send, one key per channel.

`{"slack": {...}, "telegram": {...}, "sms": {...}}`: a channel takes its own key and
ignores the others; a payload without its key falls back to a plain `answer`/`text`.
Unknown keys (e.g. `handoff`) are ignored, never an error.
"""

from __future__ import annotations

from typing import Any


def channel_part(json_message: Any, channel: str) -> dict[str, Any] | None:
    if isinstance(json_message, dict):
        part = json_message.get(channel)
        if isinstance(part, dict):
            return part
    return None


def fallback_text(json_message: Any) -> str | None:
    if not isinstance(json_message, dict):
        return None
    for key in ("answer", "text"):
        value = json_message.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None
