"""The one SQLite file a store of the action server keeps, shared by the feedback and
gaps stores (and open to any other that keeps its records the same way).

One connection per store, used by one caller at a time and committed on success: the
action server answers from many threads at once, and with a connection each, concurrent
commits met SQLite's busy handler, which sleeps 1, 2, 5 ... 100 ms between tries while
the customer waits; one connection behind a lock queues them for microseconds instead.
Write-ahead logging: a commit appends to one file instead of rewriting pages and a
rollback journal (fewer disk flushes), and other processes reading the file (the
console, `python -m actions.feedback`, any SQLite tool) never wait for the bot.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SqliteStore:
    """Subclasses name their tables in `SCHEMA` (idempotent: `CREATE ... IF NOT EXISTS`)."""

    SCHEMA = ""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        with self._use() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(self.SCHEMA)

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """The store's one connection, one caller at a time, committed on success."""
        with self._lock:
            if self._db is None:
                self._db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
                self._db.row_factory = sqlite3.Row
            with self._db:
                yield self._db
