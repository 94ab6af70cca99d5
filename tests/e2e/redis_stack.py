"""Several Rasa replicas sharing one real Redis (tracker + lock store) and one action server,
started exactly as an operator would with `endpoints.redis.yml`."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scripts.redis_server import RedisServer
from scripts.stack import ROOT, Stack, free_port
from tests.e2e.conftest import make_stack

REDIS_ENDPOINTS = ROOT / "endpoints.redis.yml"


def require_redis() -> None:
    """A missing service is an error, never a skip: CI must not pass without these tests."""
    if not RedisServer.available():
        pytest.fail(
            "redis-server is not installed: these tests start their own on loopback "
            "(apt-get install redis-server; .ci/run does this)",
            pytrace=False,
        )


@dataclass
class Replicas:
    """`stacks[0]` owns the action server; every stack is one `rasa run` process."""

    redis: RedisServer
    stacks: list[Stack] = field(default_factory=list)

    def stop(self) -> None:
        for stack in reversed(self.stacks):
            stack.stop()
        self.redis.stop()


def start_replicas(
    tmp: Path, model: Path, credentials: Path, kb_uri: str, extra_env: dict[str, str], count: int = 2
) -> Replicas:
    require_redis()
    redis = RedisServer().start()
    replicas = Replicas(redis)
    try:
        env = {**redis.env(), **extra_env}
        first = make_stack(tmp / "replica-0", model, credentials, kb_uri, env)
        first.endpoints = REDIS_ENDPOINTS
        replicas.stacks.append(first)
        for i in range(1, count):
            other = make_stack(tmp / f"replica-{i}", model, credentials, kb_uri, env)
            other.endpoints = REDIS_ENDPOINTS
            other.action_port = first.action_port  # one action server for all replicas
            other.api_token = first.api_token
            replicas.stacks.append(other)
        first.start_actions()
        start_rasa_in_parallel(replicas.stacks)
    except BaseException:
        replicas.stop()
        raise
    return replicas


def start_rasa_in_parallel(stacks: list[Stack]) -> None:
    """Model loading is mostly waiting on imports and disk; two at once saves half the wait."""
    errors: list[BaseException] = []

    def start(stack: Stack) -> None:
        try:
            stack.start_rasa()
        except BaseException as exc:  # noqa: BLE001 - re-raised below in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(s,)) for s in stacks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def log_text(stack: Stack, name: str) -> str:
    path = stack.log_dir / f"{name}.log" if stack.log_dir else None
    return path.read_text(errors="replace") if path and path.exists() else ""


def wait_for_log(stack: Stack, name: str, needle: str, timeout: float = 10) -> str:
    """Log lines are flushed by another process; poll briefly instead of racing it."""
    deadline = time.monotonic() + timeout
    text = log_text(stack, name)
    while needle not in text and time.monotonic() < deadline:
        time.sleep(0.2)
        text = log_text(stack, name)
    return text


__all__ = ["Replicas", "start_replicas", "require_redis", "log_text", "wait_for_log", "free_port"]
