"""Recent conversations and open handoffs, read from the tracker store the Rasa server writes.

Read-only: the console never writes a tracker (that is Rasa's, through its API). The
SQL store is read with SQLAlchemy Core from Rasa's `events` table (SQLite by default,
any database Rasa's SQL store supports through TRACKER_URL); the Redis store from the
keys Rasa's Redis tracker store writes. Phone numbers are masked before anything
leaves this module, so neither a page nor a log line can show one.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any, Protocol

from actions.handoff import HANDOFF_SLOT, transcript

# A phone number in a conversation id or a message: a run of digits with the usual
# separators, at least 9 digits (7 after a +), so dates, order numbers and times stay.
# Only the last two digits stay, enough to tell two customers apart.
_PHONE = re.compile(r"(?<![\w+])\+?\d(?:[\s().-]*\d){6,}(?![\w])")
# A Slack message timestamp ("1700000000.000100", the thread part of a Slack conversation
# id) has as many digits as a phone number but is neither personal nor a number to call.
_SLACK_TS = re.compile(r"\d{10}\.\d{6}")


def mask_phones(text: str) -> str:
    def mask(match: re.Match) -> str:
        found = match.group(0)
        if _SLACK_TS.fullmatch(found):
            return found
        digits = re.sub(r"\D", "", found)
        international = found.startswith("+")
        if len(digits) < (7 if international else 9):
            return found
        return ("+" if international else "") + "•" * (len(digits) - 2) + digits[-2:]

    return _PHONE.sub(mask, text or "")


@dataclass
class Conversation:
    conversation_id: str
    channel: str
    last_at: str
    turns: list[dict[str, Any]] = field(default_factory=list)
    handoff: dict[str, Any] | None = None  # open handoff: reason, since

    @property
    def customer_turns(self) -> int:
        return sum(1 for t in self.turns if t["from"] == "customer")


def _iso(stamp: float | None) -> str:
    if not stamp:
        return ""
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="seconds")


def build_conversation(conversation_id: str, events: list[dict[str, Any]]) -> Conversation:
    """A conversation as the team reads it: channel, turns, and whether a person has it."""
    channel = ""
    handoff: dict[str, Any] | None = None
    last = 0.0
    for event in events:
        last = max(last, event.get("timestamp") or 0.0)
        kind = event.get("event")
        if kind == "user" and event.get("input_channel"):
            channel = event["input_channel"]
        elif kind == "bot":
            custom = (event.get("data") or {}).get("custom") or {}
            if "handoff" in custom:
                handoff = {
                    "reason": custom["handoff"].get("reason", ""),
                    "since": _iso(event.get("timestamp")),
                    "state": "waiting for an agent",
                }
        elif kind == "slot" and event.get("name") == HANDOFF_SLOT:
            if event.get("value"):
                handoff = handoff or {"reason": "", "since": _iso(event.get("timestamp"))}
                handoff.setdefault("state", "waiting for an agent")
            else:
                handoff = None
        elif kind == "restart":
            handoff = None
    turns = [
        {"from": t["from"], "text": mask_phones(t["text"]), "time": t["time"]}
        for t in transcript(SimpleNamespace(events=events), limit=200)
    ]
    return Conversation(mask_phones(conversation_id), channel or "rest", _iso(last), turns, handoff)


class TrackerSource(Protocol):
    def recent(self, limit: int) -> list[Conversation]: ...

    def describe(self) -> str: ...


class SQLTrackerSource:
    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self.url = url
        self.engine = sa.create_engine(url)
        self.events = sa.table(
            "events",
            sa.column("id"),
            sa.column("sender_id"),
            sa.column("timestamp"),
            sa.column("data"),
        )

    def describe(self) -> str:
        url = self.engine.url
        if url.get_backend_name() == "sqlite":
            return f"SQL tracker store (SQLite {(url.database or '').removeprefix('file:')})"
        return f"SQL tracker store ({url.render_as_string(hide_password=True)})"

    def recent(self, limit: int = 50) -> list[Conversation]:
        import sqlalchemy as sa

        events = self.events
        try:
            if not sa.inspect(self.engine).has_table("events"):
                return []
        except sa.exc.OperationalError:  # no database yet: the bot has had no conversation
            return []
        latest = sa.func.max(events.c.timestamp).label("latest")
        with self.engine.connect() as db:
            senders = db.execute(
                sa.select(events.c.sender_id, latest)
                .group_by(events.c.sender_id)
                .order_by(latest.desc())
                .limit(limit)
            ).all()
            conversations = []
            for sender, _ in senders:
                rows = db.execute(
                    sa.select(events.c.data).where(events.c.sender_id == sender).order_by(events.c.id)
                ).scalars()
                conversations.append(build_conversation(sender, [json.loads(row) for row in rows]))
        return conversations


class RedisTrackerSource:
    """Rasa's Redis tracker store: one JSON dialogue per `<prefix>:tracker:<sender>` key."""

    def __init__(
        self, host: str, port: int = 6379, password: str = "", db: int = 0, prefix: str = ""
    ) -> None:
        import redis

        self.client = redis.Redis(host=host, port=port, password=password or None, db=db)
        self.key_prefix = (f"{prefix}:" if prefix else "") + "tracker:"
        self.where = f"{host}:{port}/{db}"

    def describe(self) -> str:
        return f"Redis tracker store ({self.where}, keys {self.key_prefix}*)"

    def recent(self, limit: int = 50) -> list[Conversation]:
        conversations = []
        for key in self.client.scan_iter(match=self.key_prefix + "*", count=500):
            raw = self.client.get(key)
            if not raw:
                continue
            dialogue = json.loads(raw)
            sender = key.decode()[len(self.key_prefix) :]
            conversations.append(build_conversation(sender, dialogue.get("events") or []))
        conversations.sort(key=lambda c: c.last_at, reverse=True)
        return conversations[:limit]


def source_from_env(env: dict[str, str] | None = None) -> TrackerSource:
    """The store the bot writes: TRACKER_URL, else Redis when REDIS_HOST is set (the
    endpoints.redis.yml deployment), else the SQLite file TRACKER_DB (`make run`'s)."""
    env = dict(os.environ) if env is None else env
    url = env.get("TRACKER_URL", "").strip()
    if url.startswith("redis://"):
        from urllib.parse import urlparse

        parts = urlparse(url)
        return RedisTrackerSource(
            parts.hostname or "127.0.0.1",
            parts.port or 6379,
            parts.password or "",
            int((parts.path or "/0").strip("/") or 0),
            env.get("TRACKER_KEY_PREFIX", "nimbus"),
        )
    if url:
        return SQLTrackerSource(url)
    if env.get("REDIS_HOST", "").strip():
        return RedisTrackerSource(
            env["REDIS_HOST"].strip(),
            int(env.get("REDIS_PORT", "6379") or 6379),
            env.get("REDIS_PASSWORD", ""),
            0,
            env.get("TRACKER_KEY_PREFIX", "nimbus"),
        )
    path = os.path.abspath(env.get("TRACKER_DB", "").strip() or ".data/tracker.db")
    # Read-only at the driver: the console can never change or create the bot's file.
    return SQLTrackerSource(f"sqlite:///file:{path}?mode=ro&uri=true")


def open_handoffs(conversations: list[Conversation]) -> list[dict[str, Any]]:
    """Handoffs as the tracker shows them (`handoff_active` set), for when no records exist."""
    return [
        {
            "conversation_id": c.conversation_id,
            "channel": c.channel,
            "reason": c.handoff["reason"],
            "since": c.handoff["since"],
            "state": c.handoff["state"],
            "claimed_at": "",
            "told": "",
        }
        for c in conversations
        if c.handoff
    ]
