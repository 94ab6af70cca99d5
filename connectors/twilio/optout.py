"""Numbers that texted STOP: never messaged again until they text START.

Kept in a small SQLite file so an opt-out survives restarts (a carrier requirement, not
a nicety).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class OptOutStore:
    def __init__(self, path: str) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS opted_out (number TEXT PRIMARY KEY, at REAL)")
        self._db.commit()

    def opt_out(self, number: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO opted_out VALUES (?, strftime('%s','now'))", (number,))
            self._db.commit()

    def opt_in(self, number: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM opted_out WHERE number = ?", (number,))
            self._db.commit()

    def is_opted_out(self, number: str) -> bool:
        with self._lock:
            return (
                self._db.execute("SELECT 1 FROM opted_out WHERE number = ?", (number,)).fetchone() is not None
            )
