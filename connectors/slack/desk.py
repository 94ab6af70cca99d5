"""The Slack team channel as the agent desk: every handoff is one thread there.

The thread opens with the handoff notice (team.py): why, from which channel, the
transcript, and the Claim and Resolve buttons. Later steps are posted into it as the
action server reports them (the customer's new messages, a claim, the waiting notice, the
hand-back). What an agent writes in the thread goes to the customer:

- a `message` event in the team channel whose `thread_ts` is a handoff thread, written by
  a person (no bot, no edit or other subtype), becomes Rasa's `EXTERNAL_agent_message`
  with the text and the agent's name, through Rasa's HTTP API with `output_channel=latest`:
  the action server renders it for the customer's channel, and Rasa delivers it there
  (connectors/common/reachback.py);
- Claim and Resolve become `EXTERNAL_handoff_claimed` / `EXTERNAL_handoff_resolved`.

Events from other channels, from bots (our own posts included), and messages outside a
handoff thread are not the desk's business; the customer's words are never logged.
Threads are kept in SQLite (`desk_db`, beside the dedupe store by default), so a restart
or another replica sharing the file still knows which thread is which conversation.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from connectors.common.sqlite_store import SqliteStore
from contract import handoff_events as steps

logger = logging.getLogger(__name__)

CLAIM_ACTION = "handoff_claim"
RESOLVE_ACTION = "handoff_resolve"
DESK_ACTIONS = (CLAIM_ACTION, RESOLVE_ACTION)
OPEN, CLOSED = "open", "closed"
RASA_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class Thread:
    handoff_id: str
    conversation_id: str
    channel: str
    thread_ts: str
    status: str


class ThreadStore(SqliteStore):
    """Which thread of the team channel is which handoff."""

    SCHEMA = """
        CREATE TABLE IF NOT EXISTS threads (handoff_id TEXT PRIMARY KEY,
            conversation_id TEXT NOT NULL, channel TEXT NOT NULL, thread_ts TEXT NOT NULL,
            status TEXT NOT NULL, opened REAL NOT NULL);
        CREATE INDEX IF NOT EXISTS threads_by_ts ON threads (thread_ts);
        CREATE INDEX IF NOT EXISTS threads_by_conversation ON threads (conversation_id, opened);
    """

    def _one(self, where: str, *args: Any) -> Thread | None:
        with self._use() as db:
            row = db.execute(
                "SELECT handoff_id, conversation_id, channel, thread_ts, status FROM threads "
                f"WHERE {where} ORDER BY opened DESC LIMIT 1",
                args,
            ).fetchone()
        return Thread(*row) if row else None

    def opened(self, handoff_id: str, conversation_id: str, channel: str, thread_ts: str) -> None:
        with self._use() as db:
            db.execute(
                "INSERT OR REPLACE INTO threads VALUES (?, ?, ?, ?, ?, ?)",
                (handoff_id or f"-{thread_ts}", conversation_id, channel, thread_ts, OPEN, time.time()),
            )

    def by_thread(self, thread_ts: str) -> Thread | None:
        return self._one("thread_ts = ?", thread_ts)

    def for_event(self, handoff_id: str | None, conversation_id: str) -> Thread | None:
        """The thread of a reported step: by its handoff id, else the conversation's latest."""
        found = self._one("handoff_id = ?", handoff_id) if handoff_id else None
        return found or self._one("conversation_id = ?", conversation_id)

    def close(self, thread_ts: str) -> None:
        with self._use() as db:
            db.execute("UPDATE threads SET status = ? WHERE thread_ts = ?", (CLOSED, thread_ts))


def default_desk_db() -> str:
    from connectors.common.dedupe import default_dedupe_db

    return str(Path(default_dedupe_db()).with_name("desk.sqlite"))


def rasa_url() -> str:
    """This Rasa server's own HTTP API, as the action server reaches it (`RASA_URL`)."""
    port = os.environ.get("RASA_PORT", "").strip() or "5005"
    return (os.environ.get("RASA_URL", "").strip() or f"http://127.0.0.1:{port}").rstrip("/")


async def trigger(conversation_id: str, intent: str, entities: dict[str, str]) -> bool:
    """An external intent through Rasa's HTTP API; what the action says goes to the
    customer's channel. True when Rasa ran it."""
    token = os.environ.get("RASA_API_TOKEN", "").strip()
    query = urllib.parse.urlencode({"output_channel": "latest", **({"token": token} if token else {})})
    path = urllib.parse.quote(conversation_id, safe=":")
    url = f"{rasa_url()}/conversations/{path}/trigger_intent?{query}"
    try:
        timeout = aiohttp.ClientTimeout(total=RASA_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(url, json={"name": intent, "entities": entities}) as response:
                if response.status == 200:
                    return True
                logger.error(
                    "desk: Rasa refused %s for conversation %s: HTTP %s",
                    intent,
                    conversation_id,
                    response.status,
                )
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        logger.error(
            "desk: Rasa unreachable for %s (conversation %s): %s", intent, conversation_id, type(exc).__name__
        )
    return False


class AgentDesk:
    """Turns what agents do in the team channel into steps of the customer's conversation."""

    def __init__(
        self,
        client: Callable[[], AsyncWebClient],
        channel: str,
        threads: ThreadStore,
        post: Callable[..., Any],
    ) -> None:
        self._client = client
        self.channel = channel
        self.threads = threads
        self._post = post  # (conversation, what, **chat.postMessage params) with the team's retries
        self._names: dict[str, str] = {}

    # --- what belongs to the desk ---------------------------------------------------------

    def thread_of_event(self, event: Any) -> Thread | None:
        """The handoff thread a team-channel event was written in, else None."""
        if not isinstance(event, dict) or event.get("channel") != self.channel:
            return None
        thread_ts = event.get("thread_ts")
        if not isinstance(thread_ts, str) or not thread_ts or thread_ts == event.get("ts"):
            return None
        return self.threads.by_thread(thread_ts)

    def is_agent_reply(self, event: dict[str, Any], bot_user_id: str | None = None) -> bool:
        user = event.get("user")
        return (
            event.get("type") == "message"
            and not event.get("subtype")
            and not event.get("bot_id")
            and not event.get("bot_profile")
            and isinstance(user, str)
            and bool(user)
            and user != bot_user_id
            and isinstance(event.get("text"), str)
            and bool(event["text"].strip())
        )

    def is_desk_action(self, payload: dict[str, Any]) -> bool:
        actions = payload.get("actions")
        where = payload.get("channel")
        channel = where.get("id") if isinstance(where, dict) else None
        return (
            channel == self.channel
            and isinstance(actions, list)
            and bool(actions)
            and isinstance(actions[0], dict)
            and actions[0].get("action_id") in DESK_ACTIONS
        )

    # --- agents' actions ------------------------------------------------------------------

    async def agent_name(self, user: str, given: str = "") -> str:
        """How the customer and the records name the agent: Slack's display name if it can be
        read (users:read), else what the event gave, else the user id."""
        if user in self._names:
            return self._names[user]
        name = given
        try:
            info = await self._client().users_info(user=user)
            profile = (info.get("user") or {}).get("profile") or {}
            name = (
                profile.get("display_name")
                or profile.get("real_name")
                or (info.get("user") or {}).get("name")
                or name
            )
        except Exception as exc:  # noqa: BLE001 - a name is a courtesy
            logger.debug("desk: users.info failed for %s (%s)", user, type(exc).__name__)
        self._names[user] = str(name or user)[:80]
        return self._names[user]

    async def _say(self, thread: Thread, text: str) -> None:
        await self._post(thread.conversation_id, "slack desk notice", text=text, thread_ts=thread.thread_ts)

    async def agent_reply(self, thread: Thread, event: dict[str, Any]) -> None:
        if thread.status != OPEN:
            await self._say(
                thread, "This conversation is back with the bot: that was *not* sent to the customer."
            )
            return
        agent = await self.agent_name(event["user"])
        entities = {steps.AGENT_ENTITY: agent, steps.AGENT_TEXT_ENTITY: event["text"]}
        if not await trigger(thread.conversation_id, steps.AGENT_MESSAGE_INTENT, entities):
            await self._say(
                thread, ":warning: That could not be passed on to the customer; please try again."
            )
            return
        logger.info("desk: agent message delivered to conversation %s", thread.conversation_id)

    async def button(self, payload: dict[str, Any]) -> None:
        action = payload["actions"][0]
        container = payload.get("container") if isinstance(payload.get("container"), dict) else {}
        message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
        root = str(container.get("message_ts") or message.get("ts") or "")
        thread = self.threads.by_thread(root) if root else None
        if thread is None:
            logger.info("desk: %s pressed on a message that is not a handoff thread", action.get("action_id"))
            return
        if thread.status != OPEN:
            await self._say(thread, "This conversation is already back with the bot.")
            return
        user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
        given = str(user.get("name") or user.get("username") or "")
        agent = await self.agent_name(str(user.get("id") or ""), given)
        intent = steps.CLAIM_INTENT if action.get("action_id") == CLAIM_ACTION else steps.RESOLVE_INTENT
        if not await trigger(thread.conversation_id, intent, {steps.AGENT_ENTITY: agent}):
            await self._say(thread, ":warning: The bot could not be reached; please press the button again.")
