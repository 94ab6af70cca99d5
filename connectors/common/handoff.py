"""Pass a `{"handoff": {...}}` payload from whichever channel received it to the support team.

The action server emits that payload when a customer needs a person. It is meant for the
team, never for the customer, so every output channel hands it here instead of showing
it. The team is reached through one notifier per process (the Slack channel's client
posting to a team channel, when `handoff_channel` is configured), registered by the
connector that owns the client; channels stay unaware of each other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

logger = logging.getLogger(__name__)


@dataclass
class Handoff:
    conversation_id: str
    channel: str
    reason: str
    transcript: list[dict[str, Any]]
    # How an agent reaches the customer outside the bot (SMS: the phone number). It goes to
    # the team's channel only and is never logged.
    contact: dict[str, str] = field(default_factory=dict)


class TeamNotifier(Protocol):
    async def notify(self, handoff: Handoff) -> bool: ...


_notifier: TeamNotifier | None = None


def register(notifier: TeamNotifier | None) -> None:
    global _notifier
    _notifier = notifier


def notifier() -> TeamNotifier | None:
    return _notifier


def is_handoff(json_message: Any) -> bool:
    return isinstance(json_message, dict) and isinstance(json_message.get("handoff"), dict)


def parse(json_message: Any, fallback_conversation: str, channel: str) -> Handoff:
    part = json_message.get("handoff") if isinstance(json_message, dict) else None
    part = part if isinstance(part, dict) else {}
    turns = part.get("transcript") if isinstance(part.get("transcript"), list) else []
    return Handoff(
        conversation_id=str(part.get("conversation_id") or fallback_conversation),
        channel=str(part.get("channel") or channel),
        reason=str(part.get("reason") or ""),
        transcript=[t for t in turns if isinstance(t, dict)],
    )


async def forward(
    json_message: Any, conversation: str, channel: str, contact: dict[str, str] | None = None
) -> bool:
    """Notify the team; True if delivered. Failures are logged with the conversation id."""
    handoff = parse(json_message, conversation, channel)
    handoff.contact = dict(contact or {})
    if _notifier is None:
        logger.info(
            "handoff in conversation %s: no team channel configured (Slack handoff_channel); "
            "only the action server's HANDOFF_WEBHOOK_URL, if set, was told",
            handoff.conversation_id,
        )
        return False
    try:
        delivered = await _notifier.notify(handoff)
    except Exception:  # noqa: BLE001 - the customer's turn must go on
        logger.exception("handoff notification failed (conversation %s)", handoff.conversation_id)
        return False
    if delivered:
        logger.info("handoff in conversation %s sent to the team channel", handoff.conversation_id)
    else:
        logger.error("handoff in conversation %s could not reach the team channel", handoff.conversation_id)
    return delivered
