"""SQLite tracker store: write-ahead log, and no fsync on every turn.

Rasa's SQL tracker store is synchronous: every turn's save commits on the event loop, and
SQLite's default rollback journal fsyncs the file on each commit. On a busy disk that is
tens of milliseconds during which no other conversation moves (bench.channels: about 15%
of the Rasa server's busy time at 32 conversations). In WAL mode with synchronous=NORMAL a
commit appends to the log without waiting for the disk; the database cannot be corrupted
and an application crash loses nothing; a power cut or OS crash may lose the last turns
written before it, which is the trade every replica behind a load balancer already makes
with Redis. Other databases are untouched. Set TRACKER_SQLITE_FSYNC=1 to keep Rasa's
default journal.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_installed = False


def _tune(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def install() -> None:
    global _installed
    if _installed or os.environ.get("TRACKER_SQLITE_FSYNC", "").strip() == "1":
        return
    event.listen(Engine, "connect", _tune)
    _installed = True
