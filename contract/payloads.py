"""The custom payloads a bot message carries, with small typed constructors (like
rasa_sdk's events) for the action server and readers for the connectors.

A payload is a dict with at most one part per channel (`{"slack": ..., "telegram": ...,
"sms": ...}`) next to kind keys that say what the message is:
- `handoff`: the conversation went to a person; for the connectors and the team, never
  shown to the customer.
- `feedback_ack`: a feedback press was recorded (a toast on Telegram, nothing elsewhere).
- `suggestions`: no confident answer; the articles the customer may have meant.
- `agent_message`: a person from the support team wrote to the customer during a handoff.
A channel takes its own part and ignores the others; a payload without its part falls
back to a plain `answer`/`text`. Unknown keys are ignored, never an error, so either side
can be deployed first.
"""

from __future__ import annotations

import html
import re
from typing import Any, TypedDict

SLACK = "slack"
TELEGRAM = "telegram"
SMS = "sms"
WHATSAPP = "whatsapp"
CHANNEL_PARTS = (SLACK, TELEGRAM, SMS, WHATSAPP)

HANDOFF = "handoff"
FEEDBACK_ACK = "feedback_ack"
SUGGESTIONS = "suggestions"
AGENT_MESSAGE = "agent_message"

_TAG = re.compile(r"<[^>]+>")


class SlackPart(TypedDict, total=False):
    text: str  # mrkdwn; the notification and accessibility fallback of the blocks
    blocks: list[dict[str, Any]]


class TelegramButton(TypedDict, total=False):
    text: str
    callback_data: str  # at most TELEGRAM_CALLBACK_DATA_BYTES once the connector packs it
    url: str


class TelegramPart(TypedDict, total=False):
    html: str  # Telegram's HTML subset, already escaped
    text: str  # plain text, used when there is no html
    buttons: list[list[TelegramButton]]  # rows of inline buttons under the last message


class SmsPart(TypedDict):
    text: str  # plain text; the connector splits it at TWILIO_BODY_LIMIT


class WhatsAppPart(TypedDict):
    text: str  # WhatsApp formatting (*bold*, _italic_); the connector splits at TWILIO_BODY_LIMIT


class Handoff(TypedDict, total=False):
    handoff_id: str
    conversation_id: str
    channel: str
    reason: str
    delivered_to: list[str]


class FeedbackAck(TypedDict):
    ref: str
    verdict: str
    text: str


class Suggestion(TypedDict, total=False):
    title: str
    url: str


class Suggestions(TypedDict):
    text: str
    items: list[Suggestion]


class AgentMessage(TypedDict):
    text: str
    agent: str


# --- constructors (action server) ---------------------------------------------------------


def slack_part(text: str, blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    part: SlackPart = {"text": text}
    if blocks is not None:
        part["blocks"] = blocks
    return {SLACK: part}


def telegram_part(html_text: str, buttons: list[list[TelegramButton]] | None = None) -> dict[str, Any]:
    part: TelegramPart = {"html": html_text}
    if buttons:
        part["buttons"] = buttons
    return {TELEGRAM: part}


def sms_part(text: str) -> dict[str, Any]:
    return {SMS: SmsPart(text=text)}


def whatsapp_part(text: str) -> dict[str, Any]:
    return {WHATSAPP: WhatsAppPart(text=text)}


def handoff(
    handoff_id: str, conversation_id: str, channel: str, reason: str, delivered_to: list[str]
) -> dict[str, Any]:
    return {
        HANDOFF: Handoff(
            handoff_id=handoff_id,
            conversation_id=conversation_id,
            channel=channel,
            reason=reason,
            delivered_to=delivered_to,
        )
    }


def feedback_ack(ref: str, verdict: str, text: str) -> dict[str, Any]:
    return {FEEDBACK_ACK: FeedbackAck(ref=ref, verdict=verdict, text=text)}


def suggestions(text: str, items: list[Suggestion], **parts: Any) -> dict[str, Any]:
    """The "did you mean" reply; `parts` are the channels' rendered versions (slack=..., ...).

    `text` doubles as the fallback a channel without its part shows."""
    return {SUGGESTIONS: Suggestions(text=text, items=items), "text": text, **_parts(parts)}


def agent_message(text: str, agent: str = "", **parts: Any) -> dict[str, Any]:
    """A team member's message to the customer during a handoff, distinct from the bot's;
    `text` is also the fallback for a channel without its part."""
    return {AGENT_MESSAGE: AgentMessage(text=text, agent=agent), "text": text, **_parts(parts)}


def _parts(parts: dict[str, Any]) -> dict[str, Any]:
    unknown = set(parts) - set(CHANNEL_PARTS)
    if unknown:
        raise ValueError(f"unknown channel part(s): {', '.join(sorted(unknown))}")
    return {name: part for name, part in parts.items() if part is not None}


# --- readers (connectors, transcripts) ----------------------------------------------------


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


def is_handoff(json_message: Any) -> bool:
    return isinstance(json_message, dict) and isinstance(json_message.get(HANDOFF), dict)


def readable_text(json_message: Any) -> str:
    """What the customer read, as plain text (for transcripts): the first channel part found."""
    if not isinstance(json_message, dict):
        return ""
    if SLACK in json_message:
        return str((channel_part(json_message, SLACK) or {}).get("text", ""))
    if TELEGRAM in json_message:
        return html.unescape(_TAG.sub("", str((channel_part(json_message, TELEGRAM) or {}).get("html", ""))))
    for name in (SMS, WHATSAPP):
        if name in json_message:
            return str((channel_part(json_message, name) or {}).get("text", ""))
    return fallback_text(json_message) or ""
