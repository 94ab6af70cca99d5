"""A conversation's next turn starts when the previous one ends, not up to a second later.

The lock stores are endpoint classes: Rasa builds them from the endpoint files, and
nothing of Rasa's own lock stores is changed (checked last).
"""

from __future__ import annotations

import asyncio
import time

import pytest
import yaml
from rasa.core import lock_store as rasa_lock_store
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_ext.lock_store import InMemoryLockStore
from scripts.stack import ROOT

RASA_ACQUIRE = LockStore.__dict__["_acquire_lock"]
RASA_LOCK = LockStore.__dict__["lock"]


async def hold(store: InMemoryLockStore, conversation: str, seconds: float, log: list, tag: int = 0) -> None:
    async with store.lock(conversation):
        log.append(("start", conversation, time.monotonic(), tag))
        await asyncio.sleep(seconds)
        log.append(("end", conversation, time.monotonic(), tag))


def test_follow_up_turn_starts_right_after_the_first_releases():
    # Rasa 3.6 alone: the waiting turn sleeps 1 s between looks, so it starts ~0.8 s late.
    async def scenario() -> list:
        store, log = InMemoryLockStore(), []
        first = asyncio.ensure_future(hold(store, "c1", 0.2, log))
        await asyncio.sleep(0.01)
        await hold(store, "c1", 0.0, log)
        await first
        return log

    log = asyncio.run(scenario())
    assert [e[0] for e in log] == ["start", "end", "start", "end"]  # one after the other
    first_end, second_start = log[1][2], log[2][2]
    assert second_start - first_end < 0.3, f"follow-up waited {second_start - first_end:.2f} s"


def test_queued_turns_keep_their_order_and_never_overlap():
    store, log = InMemoryLockStore(), []

    async def scenario() -> None:
        tasks = []
        for i in range(5):
            tasks.append(asyncio.ensure_future(hold(store, "c2", 0.02, log, i)))
            await asyncio.sleep(0.001)
        await asyncio.gather(*tasks)

    started = time.monotonic()
    asyncio.run(scenario())
    assert [(e[0], e[3]) for e in log] == [(kind, i) for i in range(5) for kind in ("start", "end")]
    assert time.monotonic() - started < 1.0  # five short turns, not five one-second naps
    assert not store.conversation_locks  # the last turn removed the lock


def test_release_without_local_wake_up_is_seen_by_polling():
    # Another replica releasing (Redis lock store) notifies nobody here: the waiter polls.
    async def scenario() -> float:
        store = InMemoryLockStore()
        ticket = store.issue_ticket("c3")
        waiter = asyncio.ensure_future(_acquire(store, "c3"))
        await asyncio.sleep(0.1)
        assert not waiter.done()
        released = time.monotonic()
        store.finish_serving("c3", ticket)  # no cleanup(), so no local wake-up
        await waiter
        return time.monotonic() - released

    assert asyncio.run(scenario()) < 0.3


async def _acquire(store: InMemoryLockStore, conversation: str) -> None:
    async with store.lock(conversation):
        pass


def test_expired_lock_still_raises_rasa_s_error():
    async def scenario() -> None:
        store = InMemoryLockStore()
        store.issue_ticket("c4")
        waiter = asyncio.ensure_future(_acquire(store, "c4"))
        await asyncio.sleep(0.05)
        store.delete_lock("c4")  # what expiry amounts to: the lock is gone
        await waiter

    with pytest.raises(LockError):
        asyncio.run(scenario())


def test_endpoints_yml_makes_rasa_build_the_prompt_lock_store():
    config = yaml.safe_load((ROOT / "endpoints.yml").read_text())["lock_store"]
    store = LockStore.create(EndpointConfig.from_dict(config))
    assert type(store) is InMemoryLockStore


def test_rasa_s_own_lock_store_classes_are_not_changed():
    # Rasa's classes are untouched (a store not named in the endpoint files behaves as shipped).
    assert LockStore.__dict__["_acquire_lock"] is RASA_ACQUIRE and LockStore.__dict__["lock"] is RASA_LOCK
    assert "lock" not in rasa_lock_store.InMemoryLockStore.__dict__
    assert "lock" not in rasa_lock_store.RedisLockStore.__dict__
