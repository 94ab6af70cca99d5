"""Questions the articles did not answer, kept so the team can see what to write next.

The feedback store only holds answers that went out; a question the bot refused left no
trace but a log line. Each refusal is kept here (one SQLite file beside FEEDBACK_DB,
readable with any SQLite tool) with the channel, the language and the article the search
came closest to, and `python -m actions.gaps` / the console group them by topic.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from actions.sqlite_store import SqliteStore
from knowledge.documents import Answer

log = logging.getLogger(__name__)

DEFAULT_NAME = "gaps.sqlite"
# Why a question is here: refused outright, refused and handed to a person, or (once the
# engine offers them) answered only with "did you mean" suggestions.
REFUSED = "refused"
HANDOFF = "handoff"
SUGGESTED = "suggested"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS unanswered (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    question TEXT NOT NULL,
    language TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    nearest_article TEXT NOT NULL DEFAULT '',
    asked_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS unanswered_by_time ON unanswered (asked_at);
"""


@dataclass(frozen=True)
class Unanswered:
    conversation_id: str
    channel: str
    question: str
    language: str
    kind: str
    nearest_article: str
    asked_at: str


def default_path() -> Path:
    """GAPS_DB, else beside the feedback database (one place to back up)."""
    explicit = os.environ.get("GAPS_DB", "").strip()
    if explicit:
        return Path(explicit)
    feedback = Path(os.environ.get("FEEDBACK_DB", ".data/feedback.sqlite"))
    return feedback.with_name(DEFAULT_NAME)


class GapsStore(SqliteStore):
    SCHEMA = _SCHEMA

    def __init__(self, path: str | Path | None = None) -> None:
        super().__init__(path or default_path())

    def record(
        self,
        conversation_id: str,
        channel: str,
        question: str,
        kind: str = REFUSED,
        language: str = "",
        nearest_article: str = "",
        asked_at: str | None = None,
    ) -> None:
        asked_at = asked_at or datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._use() as db:
            db.execute(
                "INSERT INTO unanswered (conversation_id, channel, question, language, kind,"
                " nearest_article, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, channel, question, language, kind, nearest_article, asked_at),
            )

    def recent(self, limit: int = 2000, since: str = "") -> list[Unanswered]:
        with self._use() as db:
            rows = db.execute(
                "SELECT conversation_id, channel, question, language, kind, nearest_article, asked_at"
                " FROM unanswered WHERE asked_at >= ? ORDER BY asked_at DESC, id DESC LIMIT ?",
                (since, limit),
            ).fetchall()
        return [Unanswered(**dict(row)) for row in rows]


_build_lock = threading.Lock()


@lru_cache(maxsize=1)
def _build_gaps_store() -> GapsStore:
    return GapsStore()


def gaps_store() -> GapsStore:
    with _build_lock:
        return _build_gaps_store()


async def record_unanswered(
    conversation_id: str,
    channel: str,
    question: str,
    answer: Answer,
    language: str = "",
    handoff: bool = False,
) -> None:
    """Called by the knowledge action for every refusal; never fails the customer's turn.

    On a worker thread: a SQLite commit waits for the disk, and the event loop serves every
    other conversation meanwhile.
    """
    nearest = answer.passages[0].article_id if answer.passages else ""
    kind = HANDOFF if handoff else (SUGGESTED if answer.method == "suggest" else REFUSED)
    try:
        await asyncio.to_thread(
            lambda: gaps_store().record(conversation_id, channel, question, kind, language, nearest)
        )
    except Exception:  # noqa: BLE001 - the refusal still goes out, only unrecorded
        log.exception("could not record an unanswered question for conversation %s", conversation_id)
