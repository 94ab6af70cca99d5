"""Turn Slack Events API envelopes and interaction payloads into inbound messages.

Decides which events are for the bot (mentions, direct messages, button presses) and
which are noise (bot messages including our own, edits, deletes, other subtypes), and
how they map to a conversation: per thread by default, or per channel / per user.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from connectors.common.webhook import Rejected, bounded, customer_text, ensure_clean_text

GRANULARITIES = ("thread", "channel", "user")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


@dataclass
class Inbound:
    text: str
    sender_id: str
    channel: str
    thread_ts: str | None
    ts: str
    dedupe_key: str
    message_id: str
    metadata: dict[str, Any] = field(default_factory=dict)
    react: bool = True  # put the "working on it" reaction on the user's message


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def conversation_id(granularity: str, team: str, channel: str, user: str, thread: str | None) -> str:
    if granularity == "user":
        return f"slack:{team}:{user}"
    if granularity == "channel" or not thread:
        return f"slack:{team}:{channel}"
    return f"slack:{team}:{channel}:{thread}"


def strip_mentions(text: str, bot_user_id: str | None) -> str:
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def from_event(envelope: dict[str, Any], granularity: str, bot_user_id: str | None) -> Inbound | None:
    """An inbound message for an `event_callback`, or None when the event is not for us."""
    event = envelope.get("event")
    event_id = envelope.get("event_id")
    if not isinstance(event, dict) or not isinstance(event_id, str) or not event_id:
        raise Rejected(400, "event_callback without event or event_id")
    kind = event.get("type")
    if kind not in ("app_mention", "message"):
        return None
    if event.get("subtype") or event.get("bot_id") or event.get("bot_profile"):
        return None  # bot messages (ours too), edits, deletes, joins, file shares...
    authorizations = envelope.get("authorizations") or []
    if not bot_user_id and authorizations and isinstance(authorizations[0], dict):
        bot_user_id = _str(authorizations[0].get("user_id")) or None
    user = _str(event.get("user"))
    if not user or (bot_user_id and user == bot_user_id):
        return None
    channel_type = _str(event.get("channel_type"))
    if kind == "message" and channel_type != "im":
        return None  # in channels the bot answers only when mentioned (app_mention)
    channel, ts = _str(event.get("channel")), _str(event.get("ts"))
    if not channel or not ts:
        raise Rejected(400, "event without channel or ts")
    text = customer_text(strip_mentions(_str(event.get("text")), bot_user_id))
    ensure_clean_text(text)
    if not text:
        return None
    team = _str(envelope.get("team_id")) or _str(event.get("team"))
    thread = _str(event.get("thread_ts")) or None
    # In channels always answer in a thread; in a DM only when the user wrote in one.
    reply_thread = thread or (ts if channel_type != "im" else None)
    return Inbound(
        text=text,
        sender_id=conversation_id(granularity, team, channel, user, reply_thread),
        channel=channel,
        thread_ts=reply_thread,
        ts=ts,
        dedupe_key=f"event:{event_id}",
        message_id=_str(event.get("client_msg_id")) or ts,
        metadata=bounded(
            {
                "slack": {
                    "team": team,
                    "channel": channel,
                    "channel_type": channel_type or "channel",
                    "user": user,
                    "thread_ts": reply_thread,
                    "ts": ts,
                    "event_id": event_id,
                }
            }
        ),
    )


def from_block_actions(payload: dict[str, Any], granularity: str) -> Inbound | None:
    """A button press becomes the user message carried in the button's `value`."""
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise Rejected(400, "block_actions without actions")
    action = actions[0]
    value = _str(action.get("value"))
    ensure_clean_text(value)
    if not value:
        return None  # link buttons carry no value: nothing to tell the bot
    team = _str((payload.get("team") or {}).get("id"))
    user = _str((payload.get("user") or {}).get("id"))
    channel = _str((payload.get("channel") or {}).get("id")) or _str(
        (payload.get("container") or {}).get("channel_id")
    )
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    container = payload.get("container") if isinstance(payload.get("container"), dict) else {}
    thread = _str(message.get("thread_ts")) or _str(container.get("thread_ts")) or None
    message_ts = _str(message.get("ts")) or _str(container.get("message_ts"))
    if not channel or not user:
        raise Rejected(400, "block_actions without channel or user")
    action_ts = _str(action.get("action_ts")) or _str(payload.get("trigger_id"))
    return Inbound(
        text=value,
        sender_id=conversation_id(granularity, team, channel, user, thread),
        channel=channel,
        thread_ts=thread,
        ts=message_ts,
        dedupe_key=f"action:{user}:{action_ts}:{_str(action.get('action_id'))}",
        message_id=action_ts or message_ts,
        metadata=bounded(
            {
                "slack": {
                    "team": team,
                    "channel": channel,
                    "user": user,
                    "thread_ts": thread,
                    "ts": message_ts,
                    "action_id": _str(action.get("action_id")),
                    "user_name": _str((payload.get("user") or {}).get("username")) or None,
                }
            }
        ),
        react=False,
    )
