"""Rasa's lock stores with a prompt hand-over, and the Redis one with atomic tickets.

Endpoint classes (`lock_store: type: rasa_ext.lock_store.InMemoryLockStore` in
endpoints.yml, `...AtomicRedisLockStore` in endpoints.redis.yml), so Rasa builds them
itself; nothing of Rasa's is patched.

Prompt hand-over. Rasa 3.6 serialises the turns of one conversation with a ticket lock,
and a turn that finds the lock taken sleeps a fixed second (`wait_time_in_seconds=1`,
which `Agent` never changes) before it looks again. The reply reaches the user before the
turn ends (Rasa still predicts `action_listen` and saves the tracker), so a customer who
answers quickly, or sends two messages in a row, waited a whole extra second; under load,
when that tail is longer, it happened to most follow-up messages (`bench.channels` showed
overhead p50 near 0.9 s at 32 conversations while the CPU was mostly idle). Here `lock()`
(the lock stores' public context manager) wakes a waiting turn the moment a turn of the
same conversation in this process releases the lock, and otherwise polls the store at a
short, growing interval (5 ms up to `LOCK_POLL_MAX_SECONDS`, default 0.05 s) so a release
by another replica is still seen quickly. Rasa's tickets, expiry and errors are unchanged.

Atomic tickets (Redis, several replicas).

Rasa 3.6's `RedisLockStore` changes a conversation's ticket queue by reading it (GET),
changing it in Python and writing it back (SET). Two replicas taking a turn of the same
conversation at the same moment both read "no lock", both issue ticket 0, and the later
SET overwrites the earlier one: both replicas then hold the lock and run the turn at
once, each on the history as it was before the other's turn. Releasing has the same
gap: a replica that finds no one waiting deletes the key, possibly just after another
replica queued a ticket in it, and that replica then fails with "Could not acquire lock".
(A Rasa reviewer called the ticket issue "far from atomic" when the lock was added;
open-source Rasa 3.6 ships no atomic variant.)

This store keeps everything else of Rasa's: the same key names and JSON ticket queue,
the same ticket rules, the same endpoint options. Only the
read-change-write steps run inside a Redis WATCH/MULTI transaction, which Redis aborts
(and redis-py retries) when another replica changed the key in between.

Configured in `endpoints.redis.yml` as `type: rasa_ext.lock_store.AtomicRedisLockStore`
with the options of Rasa's `type: redis` lock store.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from rasa.core import lock_store as rasa_lock_store
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

FIRST_POLL_SECONDS = 0.005


def max_poll_seconds() -> float:
    try:
        value = float(os.environ.get("LOCK_POLL_MAX_SECONDS", "0.05"))
    except ValueError:
        value = 0.05
    return value if value > 0 else 0.05


class Releases:
    """Per-conversation wake-ups for the turns of this process waiting on a lock."""

    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}

    async def wait(self, conversation_id: str, timeout: float) -> None:
        """Wait until `notify(conversation_id)` or `timeout`, whichever comes first."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(conversation_id, set())
        waiters.add(future)
        try:
            await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            waiters.discard(future)
            if not waiters:
                self._waiters.pop(conversation_id, None)

    def notify(self, conversation_id: str) -> None:
        """Wake the waiting turns through their own event loop.

        asyncio's futures are not thread-safe: a result set from another thread's loop can
        lose the waiter's wake-up (a done callback added meanwhile is dropped), and the
        turn then waits for good. Rasa runs one loop per process, but the replica tests run
        one loop per thread in a single process, and one of them once hung past its 60 s
        join there; this way a waiter's own loop sets the result.
        """
        for future in list(self._waiters.get(conversation_id, ())):
            if not future.done():
                try:
                    future.get_loop().call_soon_threadsafe(_wake, future)
                except RuntimeError:  # that loop has closed: nobody is waiting there
                    pass


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class PromptHandOver:
    """`lock()` of a Rasa lock store, waiting for the lock without a fixed sleep."""

    releases = Releases()  # one per process: the event loop's turns of every conversation

    @asynccontextmanager
    async def lock(
        self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME, wait_time_in_seconds: float = 1
    ) -> AsyncIterator[TicketLock]:
        ticket = self.issue_ticket(conversation_id, lock_lifetime)
        try:
            yield await self.wait_for_turn(conversation_id, ticket, wait_time_in_seconds)
        finally:
            try:
                self.cleanup(conversation_id, ticket)
            finally:
                self.releases.notify(conversation_id)

    async def wait_for_turn(
        self, conversation_id: str, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        poll, ceiling = FIRST_POLL_SECONDS, max_poll_seconds()
        if wait_time_in_seconds > 0:
            ceiling = min(ceiling, wait_time_in_seconds)
        while True:
            lock = self.get_lock(conversation_id)
            if not lock:  # expired while we waited
                break
            if not lock.is_locked(ticket):
                return lock
            await self.releases.wait(conversation_id, min(poll, ceiling))
            poll = min(poll * 2, ceiling)
            self.update_lock(conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")


class InMemoryLockStore(PromptHandOver, rasa_lock_store.InMemoryLockStore):
    """Drop-in for Rasa's default (in-memory) lock store, one Rasa process."""

    def __init__(self, endpoint_config: EndpointConfig | None = None) -> None:
        # Rasa builds custom lock stores as `cls(endpoint_config=...)`; this one has no options.
        super().__init__()


# Options of Rasa's RedisLockStore that an endpoint file may set besides `url`.
_OPTIONS = (
    "port",
    "db",
    "username",
    "password",
    "use_ssl",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_ca_certs",
    "key_prefix",
    "socket_timeout",
)


class AtomicRedisLockStore(PromptHandOver, RedisLockStore):
    """Drop-in for Rasa's `type: redis` lock store that stays correct across replicas."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        # Rasa builds custom lock stores as `cls(endpoint_config=...)`; tests pass options.
        if endpoint_config is not None:
            options = {k: v for k, v in endpoint_config.kwargs.items() if k in _OPTIONS}
            kwargs = {"host": endpoint_config.url or "localhost", **options, **kwargs}
        super().__init__(**kwargs)

    def _change(self, conversation_id: str, change: Callable[[TicketLock | None], TicketLock | None]) -> None:
        """Read the conversation's ticket queue, apply `change` and write the result back
        as one transaction; an empty queue deletes the key. Redis aborts the write if
        another replica changed the key since the read, and redis-py then runs it again."""
        key = self.key_prefix + conversation_id

        def attempt(pipe: Any) -> None:
            raw = pipe.get(key)
            lock = change(TicketLock.from_dict(json.loads(raw)) if raw else None)
            pipe.multi()
            if lock is None or not lock.tickets:
                pipe.delete(key)
            else:
                pipe.set(key, lock.dumps())

        self.red.transaction(attempt, key)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        issued: list[int] = []

        def add_ticket(lock: TicketLock | None) -> TicketLock:
            lock = lock or self.create_lock(conversation_id)
            issued[:] = [lock.issue_ticket(lock_lifetime)]
            return lock

        try:
            self._change(conversation_id, add_ticket)
        except Exception as exc:  # same contract as Rasa's: any store failure is a LockError
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc
        return issued[0]

    def update_lock(self, conversation_id: str) -> None:
        def drop_expired(lock: TicketLock | None) -> TicketLock | None:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock

        self._change(conversation_id, drop_expired)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        def remove(lock: TicketLock | None) -> TicketLock | None:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock

        self._change(conversation_id, remove)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Give the ticket back; the key goes only when no ticket is left, decided in the
        same transaction, so a ticket queued meanwhile by another replica survives."""
        self.finish_serving(conversation_id, ticket_number)
