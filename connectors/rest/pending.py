"""Messages for a web conversation that arrive outside its own request: an agent's reply
during a handoff, the hand-back, a timeout notice.

A web client only hears the bot in the HTTP response to its own message, so these wait
here (SQLite, beside the dedupe store: a restart or another replica sharing the file
keeps them) until the client's next message, whose response carries them first, or until
it polls `POST /webhooks/rest/poll {"sender": ...}`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from connectors.common.sqlite_store import SqliteStore
from connectors.rest.output import WebOutput

MAX_PENDING = 100  # per conversation; the oldest go first (a client that never comes back)


class PendingMessages(SqliteStore):
    SCHEMA = """
        CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversation TEXT NOT NULL, message TEXT NOT NULL, at REAL NOT NULL);
        CREATE INDEX IF NOT EXISTS pending_by_conversation ON pending (conversation, id);
    """

    def add(self, conversation: str, message: dict[str, Any]) -> None:
        with self._use() as db:
            db.execute(
                "INSERT INTO pending (conversation, message, at) VALUES (?, ?, ?)",
                (conversation, json.dumps(message), time.time()),
            )
            db.execute(
                "DELETE FROM pending WHERE conversation = ? AND id NOT IN (SELECT id FROM pending"
                " WHERE conversation = ? ORDER BY id DESC LIMIT ?)",
                (conversation, conversation, MAX_PENDING),
            )

    def take(self, conversation: str) -> list[dict[str, Any]]:
        """The conversation's waiting messages, oldest first; each is handed out once (one
        statement, so two replicas never both hand out the same message)."""
        if self._never_kept():
            return []  # no file to create on every web request
        with self._use() as db:
            rows = db.execute(
                "DELETE FROM pending WHERE conversation = ? RETURNING id, message", (conversation,)
            ).fetchall()
        return [json.loads(message) for _, message in sorted(rows)]


class PendingOutput(WebOutput):
    """Collects like the response's output, then keeps each message for the client."""

    def __init__(self, conversation: str, reply_to: str, pending: PendingMessages) -> None:
        super().__init__(conversation, reply_to)
        self.pending = pending

    async def _persist_message(self, message: dict[str, Any]) -> None:
        await super()._persist_message(message)
        collected, self.messages = self.messages, self.messages[-1:]
        try:
            kept = self.for_caller()  # as the caller may see it: nothing meant for the team
        finally:
            self.messages = collected
        for message_for_client in kept:
            self.pending.add(self.conversation, message_for_client)
