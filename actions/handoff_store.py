"""Every handoff: why it happened, who was told, who took it, and how it ended.

Kept by the action server, which decides every handoff and sees every claim and release
(they reach it as external intents through Rasa, see actions/handoff.py), so the record
is complete whichever tool the team uses. One SQLite file beside the feedback database
(`HANDOFF_DB`, default `handoffs.sqlite` next to `FEEDBACK_DB`); `python -m
actions.handoff list` shows the open ones.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from actions.feedback_store import DEFAULT_PATH as FEEDBACK_DEFAULT_PATH

# Status: open (the team was told, nobody took it yet), claimed, resolved (handed back),
# undelivered (no destination, or every destination failed: the customer got the contact line).
OPEN, CLAIMED, RESOLVED, UNDELIVERED = "open", "claimed", "resolved", "undelivered"
# Outcome, set when a record closes.
HANDED_BACK, NO_DESTINATION, DELIVERY_FAILED = "handed_back", "no_destination", "delivery_failed"
TIMED_OUT = "timed_out"  # claimed, then nobody wrote for HANDOFF_IDLE_TIMEOUT: back to the bot
# Columns added after the first release; an older file gets them on open.
_ADDED_COLUMNS = {"last_activity_at": "TEXT", "waiting_at": "TEXT"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handoffs (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    delivered_to TEXT NOT NULL,
    opened_at TEXT NOT NULL,
    claimed_at TEXT,
    agent TEXT,
    resolved_at TEXT,
    outcome TEXT,
    last_activity_at TEXT,
    waiting_at TEXT
);
CREATE INDEX IF NOT EXISTS handoffs_by_status ON handoffs (status, opened_at);
CREATE INDEX IF NOT EXISTS handoffs_by_conversation ON handoffs (conversation_id, opened_at);
"""


@dataclass(frozen=True)
class HandoffRecord:
    id: str
    conversation_id: str
    channel: str
    reason: str
    status: str
    delivered_to: list[str]
    opened_at: str
    claimed_at: str | None = None
    agent: str | None = None
    resolved_at: str | None = None
    outcome: str | None = None
    # The last message either way (customer or agent) or claim: the idle timeout counts from it.
    last_activity_at: str | None = None
    # When the customer was told nobody had taken the handoff yet (once per handoff).
    waiting_at: str | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def default_path() -> Path:
    explicit = os.environ.get("HANDOFF_DB", "").strip()
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("FEEDBACK_DB", "") or FEEDBACK_DEFAULT_PATH).with_name("handoffs.sqlite")


def _record(row: sqlite3.Row) -> HandoffRecord:
    values = dict(row)
    values["delivered_to"] = json.loads(values["delivered_to"])
    return HandoffRecord(**values)


class HandoffStore:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        with self._tx() as db:
            db.execute("PRAGMA journal_mode=WAL")  # the CLI reads while the server writes
            db.executescript(_SCHEMA)
            present = {row[1] for row in db.execute("PRAGMA table_info(handoffs)")}
            for name, kind in _ADDED_COLUMNS.items():
                if name not in present:
                    db.execute(f"ALTER TABLE handoffs ADD COLUMN {name} {kind}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        # Handoffs are rare next to answers: one connection behind a lock is plenty.
        with self._lock, self._db:
            yield self._db

    def new_id(self) -> str:
        return secrets.token_hex(6)

    def open(
        self,
        handoff_id: str,
        conversation_id: str,
        channel: str,
        reason: str,
        delivered_to: list[str],
        outcome: str | None = None,
        at: str | None = None,
    ) -> HandoffRecord:
        """Record a handoff; with no `delivered_to` it is closed at once as undelivered."""
        status = OPEN if delivered_to else UNDELIVERED
        with self._tx() as db:
            db.execute(
                "INSERT INTO handoffs (id, conversation_id, channel, reason, status, delivered_to,"
                " opened_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    handoff_id,
                    conversation_id,
                    channel,
                    reason,
                    status,
                    json.dumps(delivered_to),
                    at or now_iso(),
                    None if delivered_to else outcome,
                ),
            )
        return self.get(handoff_id)  # type: ignore[return-value]

    def get(self, handoff_id: str) -> HandoffRecord | None:
        with self._tx() as db:
            row = db.execute("SELECT * FROM handoffs WHERE id = ?", (handoff_id,)).fetchone()
        return _record(row) if row else None

    def current(self, conversation_id: str) -> HandoffRecord | None:
        """The conversation's handoff still with the team (open or claimed), if any."""
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM handoffs WHERE conversation_id = ? AND status IN (?, ?)"
                " ORDER BY opened_at DESC, rowid DESC LIMIT 1",
                (conversation_id, OPEN, CLAIMED),
            ).fetchone()
        return _record(row) if row else None

    def claim(self, conversation_id: str, agent: str, at: str | None = None) -> HandoffRecord | None:
        """An agent takes the conversation (another may take it over later: the agent changes)."""
        current = self.current(conversation_id)
        if current is None:
            return None
        with self._tx() as db:
            db.execute(
                "UPDATE handoffs SET status = ?, agent = ?, claimed_at = COALESCE(claimed_at, ?),"
                " last_activity_at = ? WHERE id = ?",
                (CLAIMED, agent, at or now_iso(), at or now_iso(), current.id),
            )
        return self.get(current.id)

    def resolve(
        self,
        conversation_id: str,
        agent: str | None = None,
        outcome: str = HANDED_BACK,
        at: str | None = None,
    ) -> HandoffRecord | None:
        current = self.current(conversation_id)
        if current is None:
            return None
        with self._tx() as db:
            db.execute(
                "UPDATE handoffs SET status = ?, resolved_at = ?, outcome = ?, agent = COALESCE(?, agent)"
                " WHERE id = ?",
                (RESOLVED, at or now_iso(), outcome, agent, current.id),
            )
        return self.get(current.id)

    def listing(self, open_only: bool = True, limit: int = 100) -> list[HandoffRecord]:
        """Open handoffs oldest first (the longest-waiting customer on top); all, newest first."""
        with self._tx() as db:
            if open_only:
                rows = db.execute(
                    "SELECT * FROM handoffs WHERE status IN (?, ?) ORDER BY opened_at, rowid LIMIT ?",
                    (OPEN, CLAIMED, limit),
                ).fetchall()
            else:
                rows = db.execute(
                    "SELECT * FROM handoffs ORDER BY opened_at DESC, rowid DESC LIMIT ?", (limit,)
                ).fetchall()
        return [_record(r) for r in rows]

    def touch(self, conversation_id: str, at: str | None = None) -> HandoffRecord | None:
        """A message went either way: the claimed handoff's idle clock starts again."""
        current = self.current(conversation_id)
        if current is None:
            return None
        with self._tx() as db:
            db.execute("UPDATE handoffs SET last_activity_at = ? WHERE id = ?", (at or now_iso(), current.id))
        return self.get(current.id)

    def mark_waiting(self, handoff_id: str, at: str | None = None) -> bool:
        """True for exactly one caller (replicas, a timer that fired twice): the one that tells
        the customer nobody has taken the handoff yet."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE handoffs SET waiting_at = ? WHERE id = ? AND status = ? AND waiting_at IS NULL",
                (at or now_iso(), handoff_id, OPEN),
            )
        return cursor.rowcount == 1

    def due_waiting(self, opened_before: str) -> list[HandoffRecord]:
        """Open handoffs nobody claimed, opened before `opened_before`, customer not yet told."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT * FROM handoffs WHERE status = ? AND waiting_at IS NULL AND opened_at <= ?"
                " ORDER BY opened_at",
                (OPEN, opened_before),
            ).fetchall()
        return [_record(r) for r in rows]

    def due_idle(self, active_before: str) -> list[HandoffRecord]:
        """Claimed handoffs with no message or claim since `active_before`."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT * FROM handoffs WHERE status = ?"
                " AND COALESCE(last_activity_at, claimed_at, opened_at) <= ? ORDER BY opened_at",
                (CLAIMED, active_before),
            ).fetchall()
        return [_record(r) for r in rows]
