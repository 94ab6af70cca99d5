"""A small SQLite table keyed by the customer's address, for what a Twilio channel must
remember across restarts (opt-outs, WhatsApp's service window). Addresses stay in this
file and on the reply path; they are never logged."""

from __future__ import annotations

from connectors.common.sqlite_store import SqliteStore


class AddressTable(SqliteStore):
    """One table `(<key> TEXT PRIMARY KEY, at REAL)`, safe to share between threads.

    `key` names the column as existing files have it (the opt-out file says `number`).
    """

    def __init__(self, path: str, table: str, key: str = "address") -> None:
        super().__init__(path)
        self.table = table
        self.key = key
        self.SCHEMA = f"CREATE TABLE IF NOT EXISTS {table} ({key} TEXT PRIMARY KEY, at REAL)"
        with self._use():
            pass  # opened now, as before: a path it cannot write fails at start-up, not on a message

    def put(self, address: str, at: float) -> None:
        with self._use() as db:
            db.execute(f"INSERT OR REPLACE INTO {self.table} VALUES (?, ?)", (address, at))

    def delete(self, address: str) -> None:
        with self._use() as db:
            db.execute(f"DELETE FROM {self.table} WHERE {self.key} = ?", (address,))

    def get(self, address: str) -> float | None:
        """When `address` was stored, or None."""
        with self._use() as db:
            row = db.execute(f"SELECT at FROM {self.table} WHERE {self.key} = ?", (address,)).fetchone()
        return None if row is None else float(row[0])
