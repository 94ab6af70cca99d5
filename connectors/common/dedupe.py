"""Remember which platform events were already accepted, so a retry is dropped.

Platforms resend a webhook when they did not see a fast 2xx (or simply at will), also
after our server restarted; the event id is the only reliable way to know it is the same
message. So the store outlives the process: a small SQLite file beside the tracker by
default, Redis (`SET NX EX`) when configured, so every replica behind a load balancer
agrees. Memory only where a test asks for it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

logger = logging.getLogger(__name__)

DEFAULT_TTL = 24 * 3600.0


class DedupeStore(Protocol):
    async def first_seen(self, key: str) -> bool:
        """True the first time `key` is seen within the TTL, False for every repeat."""


class MemoryDedupe:
    """A bounded TTL set; enough for one process."""

    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def _prune(self, now: float) -> None:
        while self._expiry:
            key, expires = next(iter(self._expiry.items()))
            if expires > now and len(self._expiry) < self.max_entries:
                break
            self._expiry.popitem(last=False)

    async def first_seen(self, key: str) -> bool:
        now = self._clock()
        self._prune(now)
        expires = self._expiry.get(key)
        if expires is not None and expires > now:
            return False
        self._expiry[key] = now + self.ttl
        self._expiry.move_to_end(key)
        return True


class RedisDedupe:
    """Shared across replicas. If Redis is down, fall back to memory rather than drop messages."""

    def __init__(self, url: str, ttl: float = DEFAULT_TTL, prefix: str = "nimbus:dedupe:") -> None:
        import redis.asyncio as redis_asyncio

        self._client = redis_asyncio.from_url(url)
        self.ttl = ttl
        self.prefix = prefix
        self._fallback = MemoryDedupe(ttl)

    async def first_seen(self, key: str) -> bool:
        try:
            created = await self._client.set(self.prefix + key, "1", nx=True, ex=max(1, int(self.ttl)))
        except Exception as exc:  # noqa: BLE001 - any Redis failure degrades to local memory
            logger.warning("dedupe: Redis unavailable (%s); using in-memory dedupe", type(exc).__name__)
            return await self._fallback.first_seen(key)
        return bool(created)


class SqliteDedupe:
    """Seen event ids in one SQLite file with an expiry per row; survives restarts.

    One statement per event (an upsert of a primary key, WAL journal, no fsync per
    commit), done inline: 0.25 ms per event here, cheaper than a thread hop. Expired rows
    are pruned every `prune_every` writes.
    """

    _shared: dict[str, tuple[sqlite3.Connection, threading.Lock]] = {}

    def __init__(
        self,
        path: str,
        ttl: float = DEFAULT_TTL,
        prefix: str = "",
        clock: Callable[[], float] = time.time,
        prune_every: int = 1000,
    ) -> None:
        self.ttl = ttl
        self.prefix = prefix
        self._clock = clock
        self._prune_every = prune_every
        self._writes = 0
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _open(self) -> sqlite3.Connection:
        """Opened on first use (a channel built only to check its settings creates no file);
        one connection per file, shared by the channels of the process."""
        key = str(Path(self.path).resolve()) if self.path != ":memory:" else f":memory:{id(self)}"
        if key not in self._shared:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS seen (key TEXT PRIMARY KEY, expires REAL NOT NULL)")
            self._shared[key] = (db, threading.Lock())
        self._db, self._lock = self._shared[key]
        return self._db

    @classmethod
    def close_all(cls) -> None:
        """Close every shared connection (process exit; tests that simulate a restart)."""
        for db, lock in cls._shared.values():
            with lock:
                db.close()
        cls._shared.clear()

    def _first_seen(self, key: str) -> bool:
        now = self._clock()
        if self._db is None:
            self._open()
        assert self._db is not None
        with self._lock:
            # One statement, one commit: inserted, or an expired row taken over; a live row
            # is left alone (rowcount 0: seen before).
            cursor = self._db.execute(
                "INSERT INTO seen (key, expires) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET expires = excluded.expires WHERE seen.expires <= ?",
                (key, now + self.ttl, now),
            )
            self._writes += 1
            if self._writes % self._prune_every == 0:
                self._db.execute("DELETE FROM seen WHERE expires <= ?", (now,))
            return cursor.rowcount == 1

    async def first_seen(self, key: str) -> bool:
        try:
            return self._first_seen(self.prefix + key)
        except sqlite3.Error as exc:  # a full or locked disk must not drop messages
            logger.warning("dedupe: SQLite store failed (%s); accepting the event", type(exc).__name__)
            return True


def default_dedupe_db() -> str:
    """Beside the tracker database when it is a file, else in .data/."""
    tracker = os.environ.get("TRACKER_DB", "").strip()
    if tracker and tracker != ":memory:":
        return str(Path(tracker).parent / "dedupe.sqlite")
    return str(Path(".data") / "dedupe.sqlite")


def dedupe_from_settings(settings: dict[str, Any], channel: str) -> DedupeStore:
    url = (settings.get("dedupe_redis_url") or os.environ.get("REDIS_URL") or "").strip()
    ttl = float(settings.get("dedupe_ttl") or DEFAULT_TTL)
    if url:
        logger.info("%s channel: dedupe store is Redis", channel)
        return RedisDedupe(url, ttl, prefix=f"nimbus:dedupe:{channel}:")
    path = str(settings.get("dedupe_db") or default_dedupe_db())
    if path in ("memory", ":memory:"):
        return MemoryDedupe(ttl)
    return SqliteDedupe(path, ttl, prefix=f"{channel}:")
