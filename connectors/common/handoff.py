"""Telling the support team in its Slack channel that a customer (on any channel) needs a person.

The action server decides when a conversation is handed over, and it keeps the bot quiet
only once the team has been told. The Slack client lives here, on the Rasa server, so the
action server POSTs its notice to the Slack connector's `/webhooks/slack/handoff` route
(authenticated with `RASA_API_TOKEN`), which answers 200 only after Slack accepted the
post: delivery is confirmed before the dialogue goes silent, for customers on every
channel, REST included, with no tracker writes from this side.

The team is reached through one notifier per process (the Slack channel's client posting
to the team channel, when `handoff_channel` is configured), registered by the connector
that owns the client; channels stay unaware of each other.

After a confirmed handoff the action also sends a `{"handoff": {...}}` payload through
the customer's output channel. It is never shown to the customer; the SMS channel uses it
to give the team the phone number, which only the connector knows (the conversation id
is a keyed hash) and which must never reach the action server.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Protocol

from contract import payloads

logger = logging.getLogger(__name__)

OPENED = "handoff_requested"


@dataclass
class Handoff:
    conversation_id: str
    channel: str
    reason: str
    transcript: list[dict[str, Any]]
    # How an agent reaches the customer outside the bot (SMS: the phone number). It goes to
    # the team's channel only and is never logged.
    contact: dict[str, str] = field(default_factory=dict)
    handoff_id: str = ""


class TeamNotifier(Protocol):
    async def notify(self, handoff: Handoff) -> bool: ...

    async def add_contact(self, conversation_id: str, contact: dict[str, str]) -> bool: ...

    async def post_step(self, event: dict[str, Any]) -> bool: ...


_notifier: TeamNotifier | None = None


def register(notifier: TeamNotifier | None) -> None:
    global _notifier
    _notifier = notifier


def notifier() -> TeamNotifier | None:
    return _notifier


is_handoff = payloads.is_handoff


def parse_notice(body: dict[str, Any]) -> Handoff:
    """The action server's notice (the same JSON the team webhook gets); ValueError if unusable."""
    conversation = body.get("conversation_id")
    if not isinstance(conversation, str) or not conversation.strip():
        raise ValueError("conversation_id is missing")
    turns = body.get("transcript")
    if turns is not None and not isinstance(turns, list):
        raise ValueError("transcript is not a list")
    return Handoff(
        conversation_id=conversation,
        channel=str(body.get("channel") or "rest"),
        reason=str(body.get("reason") or ""),
        transcript=[t for t in turns or [] if isinstance(t, dict)],
        handoff_id=str(body.get("handoff_id") or ""),
    )


async def announce(handoff: Handoff) -> bool:
    """Post the notice in the team channel; True once Slack accepted it."""
    if _notifier is None:
        return False
    try:
        delivered = await _notifier.notify(handoff)
    except Exception:  # noqa: BLE001 - the action server gets a clear "not delivered"
        logger.exception("handoff notification failed (conversation %s)", handoff.conversation_id)
        return False
    if delivered:
        logger.info("handoff in conversation %s sent to the team channel", handoff.conversation_id)
    else:
        logger.error("handoff in conversation %s could not reach the team channel", handoff.conversation_id)
    return delivered


async def relay(event: dict[str, Any]) -> bool:
    """A later step of a handoff (customer message, claim, waiting, hand-back) for the team's
    thread; True once Slack has it. The step's text is never logged."""
    if _notifier is None:
        return False
    try:
        return await _notifier.post_step(event)
    except Exception:  # noqa: BLE001 - the action server gets a clear "not delivered"
        logger.exception(
            "handoff step %s failed (conversation %s)", event.get("event"), event.get("conversation_id")
        )
        return False


async def forward(json_message: Any, conversation: str, contact: dict[str, str] | None = None) -> bool:
    """Add what only this connector knows (`contact`) to a handoff the team was told about.

    Called by output channels with the action's `{"handoff": ...}` payload, which is never
    shown to the customer. True if the contact reached the team channel.
    """
    part = json_message.get("handoff") if isinstance(json_message, dict) else None
    told = part.get("delivered_to") if isinstance(part, dict) else None
    if not contact or not isinstance(told, list) or "slack" not in told:
        return False
    if _notifier is None:
        # Another replica's Slack client posted the notice; this one has none to add to.
        logger.warning("handoff in conversation %s: no team channel here to add the contact to", conversation)
        return False
    try:
        return await _notifier.add_contact(conversation, contact)
    except Exception:  # noqa: BLE001 - the customer's turn must go on
        logger.exception("handoff contact could not reach the team (conversation %s)", conversation)
        return False


def describe_destinations() -> tuple[bool, str]:
    """The Rasa server's start-up line, from the same settings the action server reads."""
    parts: list[str] = []
    problems: list[str] = []
    if os.environ.get("HANDOFF_WEBHOOK_URL", "").strip():
        parts.append("team webhook (posted by the action server)")
    if _notifier is not None:
        if not os.environ.get("SLACK_HANDOFF_CHANNEL", "").strip():
            # The action server decides whether to use the route from this variable alone.
            problems.append("handoff_channel is set in credentials.yml but SLACK_HANDOFF_CHANNEL is not")
        elif os.environ.get("RASA_API_TOKEN", "").strip():
            parts.append("Slack team channel")
        else:
            problems.append("the Slack team channel needs RASA_API_TOKEN for the action server's notices")
    elif os.environ.get("SLACK_HANDOFF_CHANNEL", "").strip():
        problems.append("SLACK_HANDOFF_CHANNEL is set but the Slack channel is not running here")
    if parts:
        return True, "handoff: the team is told through the " + ", ".join(parts) + "".join(
            f"; {p}" for p in problems
        )
    why = "; ".join(problems) or "set HANDOFF_WEBHOOK_URL and/or SLACK_HANDOFF_CHANNEL"
    return False, (
        f"handoff has no destination ({why}): customers who ask for a person get the contact "
        "line (HANDOFF_CONTACT_LINE) and the bot keeps answering"
    )


def log_destinations() -> None:
    ok, line = describe_destinations()
    logger.log(logging.INFO if ok else logging.WARNING, line)
