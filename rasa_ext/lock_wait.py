"""Hand a conversation's lock to its next turn as soon as the current turn lets go.

Rasa 3.6 serialises the turns of one conversation with a ticket lock, and a turn that
finds the lock taken sleeps a fixed second (`wait_time_in_seconds=1`, which `Agent`
never changes) before it looks again. The reply reaches the user before the turn ends
(Rasa still predicts `action_listen` and saves the tracker), so a customer who answers
quickly, or sends two messages in a row, waits a whole extra second; under load, when
that tail is longer, it happens to most follow-up messages (`bench.channels` showed
overhead p50 near 0.9 s at 32 conversations while the CPU was mostly idle).

Here a waiting turn is woken the moment a turn of the same conversation in this process
releases the lock, and otherwise polls the store at a short, growing interval (5 ms up to
`LOCK_POLL_MAX_SECONDS`, default 0.05 s) so a release by another replica (Redis lock
store) is still seen quickly. Rasa's tickets, expiry and errors are unchanged: only the
waiting is.
"""

from __future__ import annotations

import asyncio
import os

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LockError, LockStore

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
        # Called from the lock store's `cleanup`, on the same event loop as the waiters.
        for future in self._waiters.get(conversation_id, ()):
            if not future.done():
                future.set_result(None)


RELEASES = Releases()


async def acquire_lock(
    self: LockStore, conversation_id: str, ticket: int, wait_time_in_seconds: float
) -> TicketLock:
    """Rasa's `_acquire_lock` loop with prompt hand-over instead of a fixed sleep."""
    poll = FIRST_POLL_SECONDS
    ceiling = max_poll_seconds()
    if wait_time_in_seconds > 0:
        ceiling = min(ceiling, wait_time_in_seconds)
    while True:
        lock = self.get_lock(conversation_id)
        if not lock:  # expired while we waited
            break
        if not lock.is_locked(ticket):
            return lock
        await RELEASES.wait(conversation_id, min(poll, ceiling))
        poll = min(poll * 2, ceiling)
        self.update_lock(conversation_id)
    raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")


def _wrap_cleanup(cleanup):  # type: ignore[no-untyped-def]
    def cleanup_and_notify(self: LockStore, conversation_id: str, ticket_number: int) -> None:
        try:
            cleanup(self, conversation_id, ticket_number)
        finally:
            RELEASES.notify(conversation_id)

    cleanup_and_notify.__wrapped__ = cleanup  # type: ignore[attr-defined]
    return cleanup_and_notify


def install() -> None:
    """Patch every lock store class Rasa may build (its own and rasa_ext's)."""
    LockStore._acquire_lock = acquire_lock  # type: ignore[method-assign]
    from rasa.core.lock_store import InMemoryLockStore, RedisLockStore

    from rasa_ext.lock_store import AtomicRedisLockStore

    for cls in (LockStore, InMemoryLockStore, RedisLockStore, AtomicRedisLockStore):
        own = cls.__dict__.get("cleanup")
        if own is not None and not hasattr(own, "__wrapped__"):
            cls.cleanup = _wrap_cleanup(own)  # type: ignore[method-assign]
