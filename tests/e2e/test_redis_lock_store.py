"""The conversation lock shared by Rasa replicas, against a real `redis-server`.

Each replica has its own lock-store client; here each thread plays one replica with its
own client and connection, so the requests interleave at Redis exactly as two processes'
would (a thread waiting on its socket lets the other run).
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from rasa_ext.lock_store import AtomicRedisLockStore
from scripts.redis_server import RedisServer
from tests.e2e.redis_stack import require_redis


@pytest.fixture(scope="module")
def redis_server():
    require_redis()
    server = RedisServer().start()
    yield server
    server.stop()


def replica_store(redis_server: RedisServer) -> AtomicRedisLockStore:
    return AtomicRedisLockStore(host=redis_server.host, port=redis_server.port, db=1, key_prefix="nimbus")


def test_two_replicas_asking_at_once_get_different_tickets(redis_server):
    stores = [replica_store(redis_server) for _ in range(2)]
    same = 0
    for trial in range(150):
        start = threading.Barrier(2)

        def issue(
            store: AtomicRedisLockStore, start: threading.Barrier = start, conversation: str = f"race-{trial}"
        ) -> int:
            start.wait()
            return store.issue_ticket(conversation)

        with ThreadPoolExecutor(2) as pool:
            first, second = pool.map(issue, stores)
        same += first == second
    # Rasa 3.6's own RedisLockStore hands out the same ticket in a large share of trials.
    assert same == 0, f"{same} of 150 trials gave both replicas the same ticket"


def test_only_one_replica_at_a_time_holds_a_conversation(redis_server):
    """Many turns of one conversation on two replicas: never two inside at once, and no
    turn fails to get the lock (a release deleting a ticket queued meanwhile would)."""
    inside = 0
    most_inside = 0
    guard = threading.Lock()
    errors: list[BaseException] = []

    async def turns(store: AtomicRedisLockStore) -> None:
        nonlocal inside, most_inside
        for _ in range(15):
            async with store.lock("busy-customer", wait_time_in_seconds=0.005):
                with guard:
                    inside += 1
                    most_inside = max(most_inside, inside)
                await asyncio.sleep(0.01)
                with guard:
                    inside -= 1

    def replica() -> None:
        try:
            asyncio.run(turns(replica_store(redis_server)))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert most_inside == 1
    assert time.monotonic() - started < 60
    # The last release leaves nothing behind for the next turn to trip over.
    assert replica_store(redis_server).get_lock("busy-customer") is None


def test_endpoint_file_options_reach_the_store(redis_server):
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    config = EndpointConfig.from_dict(
        {
            "type": "rasa_ext.lock_store.AtomicRedisLockStore",
            "url": redis_server.host,
            "port": redis_server.port,
            "password": "",
            "db": 1,
            "key_prefix": "nimbus",
        }
    )
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix == "nimbus:lock:"
    ticket = store.issue_ticket("configured")
    assert replica_store(redis_server).get_lock("configured").now_serving == ticket
