"""WhatsApp's 24-hour customer-service window: when the customer last wrote to us.

Outside the window WhatsApp accepts only pre-approved templates, never a free-form reply,
so the connector must know, also after a restart, when each customer last wrote. A small
SQLite file, keyed by the customer's address (kept on the reply path only, never logged).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

WINDOW_SECONDS = 24 * 3600.0


class ServiceWindow:
    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS last_inbound (address TEXT PRIMARY KEY, at REAL)")
        self._db.commit()

    def customer_wrote(self, address: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO last_inbound VALUES (?, ?)", (address, self._clock()))
            self._db.commit()

    def is_open(self, address: str) -> bool:
        """True while a free-form reply is allowed (within 24 h of the customer's last message)."""
        with self._lock:
            row = self._db.execute("SELECT at FROM last_inbound WHERE address = ?", (address,)).fetchone()
        return row is not None and self._clock() - row[0] < WINDOW_SECONDS
