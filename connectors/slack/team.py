"""Tell the support team in a Slack channel that a customer (on any channel) needs a person.

Uses the Slack channel's own Web API client, so the same token, base URL and retry rules
apply as for answers. The message carries what an agent needs to pick the conversation
up: where it is, why, the transcript, and how to hand it back to the bot.
"""

from __future__ import annotations

import html
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from connectors.common.delivery import send_with_retry
from connectors.common.handoff import Handoff
from connectors.slack.format import escape_mrkdwn
from connectors.slack.output import call_slack

SECTION_LIMIT = 2900
# Notices remembered per process, so a later addition (an SMS number) lands in their thread.
REMEMBERED_NOTICES = 1000
MAX_TRANSCRIPT_BLOCKS = 40
REASONS = {
    "customer_asked": "the customer asked for a person",
    "button": "the customer pressed *Talk to a person*",
    "unanswered_questions": "the help articles could not answer twice in a row",
}


def _line(turn: dict[str, Any]) -> str:
    who = "*Customer:*" if turn.get("from") == "customer" else "_Bot:_"
    # Bot turns may already be entity-escaped (Slack fallback text); show them as read.
    text = escape_mrkdwn(html.unescape(str(turn.get("text") or ""))).strip()
    return f"{who} {text}"


def _chunks(lines: list[str]) -> list[str]:
    chunks: list[str] = []
    for line in lines:
        while len(line) > SECTION_LIMIT:
            chunks.append(line[:SECTION_LIMIT])
            line = line[SECTION_LIMIT:]
        if chunks and len(chunks[-1]) + 1 + len(line) <= SECTION_LIMIT:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line)
    return chunks[-MAX_TRANSCRIPT_BLOCKS:]  # the latest turns matter most


def handoff_message(handoff: Handoff) -> tuple[str, list[dict[str, Any]]]:
    conversation = escape_mrkdwn(handoff.conversation_id)
    reason = REASONS.get(handoff.reason, escape_mrkdwn(handoff.reason or "handoff requested"))
    head = (
        f":raising_hand: *A customer needs a person* ({escape_mrkdwn(handoff.channel)})\n"
        f"Conversation: `{conversation}`\nWhy: {reason}"
    )
    if handoff.contact.get("phone"):
        head += f"\nReply by SMS to: {escape_mrkdwn(handoff.contact['phone'])}"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    lines = [_line(t) for t in handoff.transcript if t.get("text")]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": c}} for c in _chunks(lines)]
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "The bot stays silent in this conversation until handed back: "
                    f"`python -m actions.handoff release {conversation}`",
                }
            ],
        }
    )
    text = f"A customer needs a person ({handoff.channel}, conversation {handoff.conversation_id})"
    return escape_mrkdwn(text), blocks


class SlackTeamNotifier:
    def __init__(self, client: Callable[[], AsyncWebClient], channel: str, attempts: int = 4) -> None:
        self._client = client  # a factory: the client must be created on the server's loop
        self.channel = channel
        self.attempts = attempts
        self._threads: OrderedDict[str, str] = OrderedDict()  # conversation id -> notice ts

    async def _post(self, conversation: str, what: str, **params: Any) -> Any:
        client = self._client()

        async def post() -> Any:
            return await client.chat_postMessage(channel=self.channel, **params)

        return await send_with_retry(
            lambda: call_slack(post), what=what, conversation=conversation, attempts=self.attempts
        )

    async def notify(self, handoff: Handoff) -> bool:
        text, blocks = handoff_message(handoff)
        result = await self._post(
            handoff.conversation_id, "slack handoff notification", text=text, blocks=blocks
        )
        if result is None:
            return False
        ts = result.get("ts") if hasattr(result, "get") else None
        if ts:
            self._threads[handoff.conversation_id] = str(ts)
            self._threads.move_to_end(handoff.conversation_id)
            while len(self._threads) > REMEMBERED_NOTICES:
                self._threads.popitem(last=False)
        return True

    async def add_contact(self, conversation_id: str, contact: dict[str, str]) -> bool:
        """Reply in the notice's thread (or, if another process posted it, name the conversation)."""
        phone = contact.get("phone")
        if not phone:
            return False
        conversation = escape_mrkdwn(conversation_id)
        text = f"Conversation `{conversation}`: reply by SMS to: {escape_mrkdwn(phone)}"
        thread = self._threads.get(conversation_id)
        params: dict[str, Any] = {"text": text}
        if thread:
            params["thread_ts"] = thread
        return await self._post(conversation_id, "slack handoff contact", **params) is not None
