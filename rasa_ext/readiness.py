"""`GET /health/ready` on the Rasa server: can this replica answer a customer right now?

A load balancer needs more than "the process is up" (Rasa's `/`): a replica whose model
has not loaded, or whose tracker or lock store (Redis, SQL) is unreachable, would take
the customer's message and lose it. Each check is bounded by a short timeout so that a
hung dependency makes the probe fail instead of hang. The body names each part and what
is wrong with it. 503 ("unavailable") when the model or a store is unusable: messages sent
here would be lost. 200 with "degraded" when only the action server is not ready: this
replica still greets, hands off and apologises, so taking it out of rotation helps nobody.

Rasa wraps the configured tracker store in two private wrappers that swallow its errors,
so the stores are found here without reaching into them: rasa_ext's tracker store classes
register themselves when Rasa builds them (`register_tracker_store`), and the lock store is
the agent's own attribute. A store of another type is reported as not checked.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

CHECK_TIMEOUT = 2.0
CRITICAL = ("model", "tracker_store", "lock_store")
_tracker_store: weakref.ref | None = None


def register_tracker_store(store: Any) -> None:
    """Called by rasa_ext's tracker store classes when Rasa builds one (the agent's is the
    latest: Rasa builds it when it loads the model)."""
    global _tracker_store
    _tracker_store = weakref.ref(store)


def ping(store: Any) -> None:
    """Blocking round trip to the store's database (run on a worker thread)."""
    if hasattr(store, "red"):  # Rasa's Redis tracker and lock stores
        store.red.ping()
    elif hasattr(store, "session_scope"):  # Rasa's SQL tracker store
        import sqlalchemy

        with store.session_scope() as session:
            session.execute(sqlalchemy.text("SELECT 1"))


async def _check(name: str, probe: Callable[[], Awaitable[dict]]) -> tuple[str, dict]:
    started = time.monotonic()
    try:
        detail = await asyncio.wait_for(probe(), CHECK_TIMEOUT)
        detail = {"ok": True, **detail}
    except asyncio.TimeoutError:
        detail = {"ok": False, "error": f"no answer within {CHECK_TIMEOUT:.0f} s"}
    except Exception as exc:  # noqa: BLE001 - the probe reports, it never raises
        detail = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    detail["ms"] = round((time.monotonic() - started) * 1000, 1)
    return name, detail


async def _ping(store: Any) -> dict:
    if not (hasattr(store, "red") or hasattr(store, "session_scope")):
        return {"type": type(store).__name__, "checked": False}
    await asyncio.get_running_loop().run_in_executor(None, ping, store)
    return {"type": type(store).__name__}


async def readiness(agent: Any) -> dict:
    """Each part's state; `agent` is the Rasa app's `ctx.agent` (None before it loads)."""

    async def model() -> dict:
        if agent is None or not agent.is_ready():
            raise RuntimeError("no model loaded")
        return {"model_id": getattr(agent.processor.model_metadata, "model_id", "")}

    async def tracker_store() -> dict:
        if agent is None or agent.tracker_store is None:
            raise RuntimeError("not configured")
        ours = _tracker_store() if _tracker_store is not None else None
        if ours is None:  # Rasa's in-memory store, or a store class that is not rasa_ext's
            return {"type": "not a rasa_ext store", "checked": False}
        return await _ping(ours)

    async def lock_store() -> dict:
        if agent is None or agent.lock_store is None:
            raise RuntimeError("not configured")
        return await _ping(agent.lock_store)

    async def action_server() -> dict:
        endpoint = agent.action_endpoint if agent else None
        if endpoint is None or not endpoint.url:
            raise RuntimeError("not configured")
        base = endpoint.url.rsplit("/webhook", 1)[0]
        timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(f"{base}/health/ready") as response:
                body = await response.json(content_type=None)
                if response.status != 200:
                    raise RuntimeError(f"not ready: {body}")
                return {"knowledge_base": body.get("knowledge_base", {})}

    checks = (
        _check("model", model),
        _check("tracker_store", tracker_store),
        _check("lock_store", lock_store),
        _check("action_server", action_server),
    )
    return dict(await asyncio.gather(*checks))


def verdict(parts: dict) -> tuple[int, str]:
    """HTTP status and overall state for the parts `readiness` reported."""
    if not all(parts[name]["ok"] for name in CRITICAL):
        return 503, "unavailable"
    return 200, "ok" if all(part["ok"] for part in parts.values()) else "degraded"
