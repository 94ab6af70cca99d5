"""Tell the support team in a Slack channel that a customer (on any channel) needs a person,
and keep that notice's thread up to date: it is the handoff's place on the agent desk
(desk.py).

Uses the Slack channel's own Web API client, so the same token, base URL and retry rules
apply as for answers. The notice carries what an agent needs to pick the conversation
up: where it is, why, the transcript, and the Claim / Resolve buttons; later steps (the
customer's new messages, a claim, a timeout, the hand-back) are replies in its thread.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from connectors.common.delivery import send_with_retry
from connectors.common.handoff import Handoff
from connectors.slack.desk import CLAIM_ACTION, RESOLVE_ACTION, ThreadStore
from connectors.slack.format import escape_mrkdwn
from connectors.slack.output import call_slack
from contract import handoff_events as steps

SECTION_LIMIT = 2900
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
            "type": "actions",
            "block_id": "handoff_desk",
            "elements": [
                {
                    "type": "button",
                    "action_id": CLAIM_ACTION,
                    "text": {"type": "plain_text", "text": "Claim"},
                    "value": handoff.handoff_id or handoff.conversation_id,
                    "style": "primary",
                },
                {
                    "type": "button",
                    "action_id": RESOLVE_ACTION,
                    "text": {"type": "plain_text", "text": "Resolve"},
                    "value": handoff.handoff_id or handoff.conversation_id,
                },
            ],
        }
    )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Reply in this thread to write to the customer. The bot stays silent until "
                    "*Resolve* (or `python -m actions.handoff release "
                    f"{conversation}`).",
                }
            ],
        }
    )
    text = f"A customer needs a person ({handoff.channel}, conversation {handoff.conversation_id})"
    return escape_mrkdwn(text), blocks


def step_text(event: dict[str, Any]) -> str | None:
    """A reported step as the thread shows it (None: nothing to show)."""
    kind = event.get("event")
    agent = escape_mrkdwn(str(event.get("agent") or "an agent"))
    if kind == steps.CUSTOMER_MESSAGE:
        return f"*Customer:* {escape_mrkdwn(str(event.get('text') or ''))}"
    if kind == steps.CLAIMED:
        return f":raising_hand: *{agent}* took this conversation."
    if kind == steps.WAITING:
        opens = " (outside support hours: told when the team is back)" if event.get("opens_at") else ""
        return f":hourglass: Nobody has claimed this yet; the customer was told to wait{opens}."
    if kind == steps.RESOLVED:
        if event.get("outcome") == steps.TIMED_OUT:
            return ":zzz: No messages for a while: handed back to the bot (timed out). The customer was told."
        return f":white_check_mark: Resolved by *{agent}*: the bot answers again. The customer was told."
    return None


class SlackTeamNotifier:
    def __init__(
        self,
        client: Callable[[], AsyncWebClient],
        channel: str,
        attempts: int = 4,
        threads: ThreadStore | None = None,
    ) -> None:
        self._client = client  # a factory: the client must be created on the server's loop
        self.channel = channel
        self.attempts = attempts
        self.threads = threads or ThreadStore()

    async def post(self, conversation: str, what: str, **params: Any) -> Any:
        client = self._client()

        async def post() -> Any:
            return await client.chat_postMessage(channel=self.channel, **params)

        return await send_with_retry(
            lambda: call_slack(post), what=what, conversation=conversation, attempts=self.attempts
        )

    _post = post

    async def notify(self, handoff: Handoff) -> bool:
        text, blocks = handoff_message(handoff)
        result = await self._post(
            handoff.conversation_id, "slack handoff notification", text=text, blocks=blocks
        )
        if result is None:
            return False
        ts = result.get("ts") if hasattr(result, "get") else None
        if ts:
            self.threads.opened(handoff.handoff_id, handoff.conversation_id, handoff.channel, str(ts))
        return True

    async def add_contact(self, conversation_id: str, contact: dict[str, str]) -> bool:
        """Reply in the notice's thread (or, if it is unknown here, name the conversation)."""
        phone = contact.get("phone")
        if not phone:
            return False
        conversation = escape_mrkdwn(conversation_id)
        text = f"Conversation `{conversation}`: reply by SMS to: {escape_mrkdwn(phone)}"
        thread = self.threads.for_event(None, conversation_id)
        params: dict[str, Any] = {"text": text}
        if thread:
            params["thread_ts"] = thread.thread_ts
        return await self._post(conversation_id, "slack handoff contact", **params) is not None

    async def post_step(self, event: dict[str, Any]) -> bool:
        """A later step of a handoff, as a reply in its thread; True once Slack has it."""
        conversation = str(event.get("conversation_id") or "")
        text = step_text(event)
        if text is None or not conversation:
            return True  # nothing to show (an agent's own message is already in the thread)
        handoff_id = event.get("handoff_id") if isinstance(event.get("handoff_id"), str) else None
        thread = self.threads.for_event(handoff_id, conversation)
        params: dict[str, Any] = {"text": text}
        if thread is not None:
            params["thread_ts"] = thread.thread_ts
        else:  # posted by another server without a shared desk_db: name the conversation
            params["text"] = f"Conversation `{escape_mrkdwn(conversation)}`: {text}"
        posted = await self._post(conversation, f"slack handoff {event.get('event')}", **params) is not None
        if thread is not None and event.get("event") == steps.RESOLVED:
            self.threads.close(thread.thread_ts)
        return posted
