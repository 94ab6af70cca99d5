"""The one SQLite file a connector-side store keeps (the REST channel's pending messages,
the Slack desk's threads, the Twilio number map, opt-outs and WhatsApp's service window),
opened the same way by each.

Opened on first use: a channel built only to check its settings creates no file (the
Twilio address tables open at once, as they always have). One connection per store, used
by one caller at a time, in autocommit: each statement is its own transaction, so a
single statement (an upsert, a `DELETE ... RETURNING`) is atomic even between replicas
sharing the file. Write-ahead logging: a reader in another process never waits for a
writer. The action server has its own base (actions/sqlite_store.py): the two sides run
under different interpreters and never import each other.
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

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    @contextmanager
    def _use(self) -> Iterator[sqlite3.Connection]:
        """The store's one connection (opened, and its tables made, on first use), one
        caller at a time."""
        with self._lock:
            if self._db is None:
                if self.path != ":memory:":
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(self.SCHEMA)
                self._db = db
            yield self._db

    def _never_kept(self) -> bool:
        """True when no file exists yet: nothing was ever stored, so a read can answer
        without creating one."""
        return self._db is None and self.path != ":memory:" and not Path(self.path).exists()
