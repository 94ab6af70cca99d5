"""A small SQLite table keyed by the customer's address, for what a Twilio channel must
remember across restarts (opt-outs, WhatsApp's service window). Addresses stay in this
file and on the reply path; they are never logged."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any


class AddressTable:
    """One table `(<key> TEXT PRIMARY KEY, at REAL)`, safe to share between threads.

    `key` names the column as existing files have it (the opt-out file says `number`).
    """

    def __init__(self, path: str, table: str, key: str = "address") -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.table = table
        self.key = key
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._write(f"CREATE TABLE IF NOT EXISTS {table} ({key} TEXT PRIMARY KEY, at REAL)")

    def _write(self, sql: str, *args: Any) -> None:
        with self._lock:
            self._db.execute(sql, args)
            self._db.commit()

    def put(self, address: str, at: float) -> None:
        self._write(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?)", address, at)

    def delete(self, address: str) -> None:
        self._write(f"DELETE FROM {self.table} WHERE {self.key} = ?", address)

    def get(self, address: str) -> float | None:
        """When `address` was stored, or None."""
        with self._lock:
            row = self._db.execute(f"SELECT at FROM {self.table} WHERE {self.key} = ?", (address,)).fetchone()
        return None if row is None else float(row[0])
