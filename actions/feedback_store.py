"""Every knowledge answer the bot gave, and what the customer thought of it.

Answers are stored when they are sent, under a short reference the feedback buttons carry
back, so a press (possibly minutes later, possibly on an older answer) is tied to exactly
the question, answer and articles it judged. One SQLite file: the team can query it with
any SQLite tool, and `python -m actions.feedback` lists what to fix.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from actions.sqlite_store import SqliteStore
from knowledge.documents import Answer

DEFAULT_PATH = ".data/feedback.sqlite"
HELPFUL = "helpful"
UNHELPFUL = "unhelpful"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    ref TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    method TEXT NOT NULL,
    citations TEXT NOT NULL,
    answered_at TEXT NOT NULL,
    verdict TEXT,
    verdict_channel TEXT,
    verdict_at TEXT
);
CREATE INDEX IF NOT EXISTS answers_by_conversation ON answers (conversation_id, answered_at);
CREATE INDEX IF NOT EXISTS answers_by_verdict ON answers (verdict, verdict_at);
"""


@dataclass(frozen=True)
class AnswerRecord:
    ref: str
    conversation_id: str
    channel: str
    question: str
    answer: str
    method: str
    citations: list[dict]
    answered_at: str
    verdict: str | None = None
    verdict_channel: str | None = None
    verdict_at: str | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def default_path() -> Path:
    return Path(os.environ.get("FEEDBACK_DB", DEFAULT_PATH))


class FeedbackStore(SqliteStore):
    SCHEMA = _SCHEMA

    def __init__(self, path: str | Path | None = None) -> None:
        super().__init__(path or default_path())

    def record_answer(self, conversation_id: str, channel: str, question: str, answer: Answer) -> str:
        """Store an answer about to be sent; returns the reference its buttons carry."""
        ref = secrets.token_urlsafe(6)  # 8 characters: fits Telegram's 64-byte callback data
        citations = [
            {"number": s.number, "title": s.title, "url": s.url, "article_id": s.article_id, "page": s.page}
            # a "these articles may help" reply is stored with the articles it offered
            for s in (answer.sources or answer.suggestions)
        ]
        with self._use() as db:
            db.execute(
                "INSERT INTO answers (ref, conversation_id, channel, question, answer, method, citations,"
                " answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ref,
                    conversation_id,
                    channel,
                    question,
                    answer.text,
                    answer.method,
                    json.dumps(citations),
                    _now(),
                ),
            )
        return ref

    def get(self, ref: str) -> AnswerRecord | None:
        with self._use() as db:
            row = db.execute("SELECT * FROM answers WHERE ref = ?", (ref,)).fetchone()
        return _record(row) if row else None

    def latest(self, conversation_id: str) -> AnswerRecord | None:
        with self._use() as db:
            row = db.execute(
                "SELECT * FROM answers WHERE conversation_id = ?"
                " ORDER BY answered_at DESC, rowid DESC LIMIT 1",
                (conversation_id,),
            ).fetchone()
        return _record(row) if row else None

    def record_verdict(self, ref: str, verdict: str, channel: str) -> AnswerRecord | None:
        """The customer's latest opinion of one answer wins (a second press corrects the first)."""
        with self._use() as db:
            db.execute(
                "UPDATE answers SET verdict = ?, verdict_channel = ?, verdict_at = ? WHERE ref = ?",
                (verdict, channel, _now(), ref),
            )
        return self.get(ref)

    def with_verdict(self, verdict: str | None = None, limit: int = 100) -> list[AnswerRecord]:
        query = "SELECT * FROM answers WHERE verdict IS NOT NULL"
        params: tuple = ()
        if verdict:
            query += " AND verdict = ?"
            params = (verdict,)
        query += " ORDER BY verdict_at DESC LIMIT ?"
        with self._use() as db:
            rows = db.execute(query, params + (limit,)).fetchall()
        return [_record(row) for row in rows]


def _record(row: sqlite3.Row) -> AnswerRecord:
    data = dict(row)
    data["citations"] = json.loads(data["citations"])
    return AnswerRecord(**data)
