"""Rasa's Redis lock store with its ticket changes made atomic, for several replicas.

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
the same `lock()` context manager and polling, the same endpoint options. Only the
read-change-write steps run inside a Redis WATCH/MULTI transaction, which Redis aborts
(and redis-py retries) when another replica changed the key in between.

Configured in `endpoints.redis.yml` as `type: rasa_ext.lock_store.AtomicRedisLockStore`
with the options of Rasa's `type: redis` lock store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

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


class AtomicRedisLockStore(RedisLockStore):
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
