"""Remember which platform events were already accepted, so a retry is dropped.

Platforms resend a webhook when they did not see a fast 2xx (or simply at will); the
event id is the only reliable way to know it is the same message. In memory by default;
with Redis (`SET NX EX`) when configured, so every replica behind a load balancer agrees.
"""

from __future__ import annotations

import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable
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


def dedupe_from_settings(settings: dict[str, Any], channel: str) -> DedupeStore:
    url = (settings.get("dedupe_redis_url") or os.environ.get("REDIS_URL") or "").strip()
    ttl = float(settings.get("dedupe_ttl") or DEFAULT_TTL)
    if url:
        logger.info("%s channel: dedupe store is Redis", channel)
        return RedisDedupe(url, ttl, prefix=f"nimbus:dedupe:{channel}:")
    return MemoryDedupe(ttl)
