"""`GET /health/ready` on the Rasa server: can this replica answer a customer right now?

A load balancer needs more than "the process is up" (Rasa's `/`): a replica whose model
has not loaded, or whose tracker or lock store (Redis, SQL) is unreachable, would take
the customer's message and lose it. Each check is bounded by a short timeout so that a
hung dependency makes the probe fail instead of hang. The body names each part and what
is wrong with it. 503 ("unavailable") when the model or a store is unusable: messages sent
here would be lost. 200 with "degraded" when only the action server is not ready: this
replica still greets, hands off and apologises, so taking it out of rotation helps nobody.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

from rasa_ext.apps import on_every_app

CHECK_TIMEOUT = 2.0
ROUTE = "/health/ready"


def _unwrap(store: Any) -> Any:
    """Rasa wraps the configured tracker store (fail-safe, awaitable); find the real one."""
    seen = 0
    while hasattr(store, "_tracker_store") and seen < 5:
        store = store._tracker_store
        seen += 1
    return store


def _ping_sync(store: Any) -> None:
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


CRITICAL = ("model", "tracker_store", "lock_store")


async def readiness(app: Sanic) -> dict:
    agent = getattr(app.ctx, "agent", None)
    loop = asyncio.get_running_loop()

    async def model() -> dict:
        if agent is None or not agent.is_ready():
            raise RuntimeError("no model loaded")
        return {"model_id": getattr(agent.processor.model_metadata, "model_id", "")}

    async def store(kind: str) -> dict:
        target = getattr(agent, kind, None) if agent else None
        if target is None:
            raise RuntimeError("not configured")
        real = _unwrap(target)
        await loop.run_in_executor(None, _ping_sync, real)
        return {"type": type(real).__name__}

    async def tracker_store() -> dict:
        return await store("tracker_store")

    async def lock_store() -> dict:
        return await store("lock_store")

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

    results = dict(
        await asyncio.gather(
            _check("model", model),
            _check("tracker_store", tracker_store),
            _check("lock_store", lock_store),
            _check("action_server", action_server),
        )
    )
    return results


def add_route(app: Sanic) -> None:
    async def ready(request: Request) -> HTTPResponse:
        parts = await readiness(request.app)
        if not all(parts[name]["ok"] for name in CRITICAL):
            return json({"status": "unavailable", **parts}, status=503)
        status = "ok" if all(part["ok"] for part in parts.values()) else "degraded"
        return json({"status": status, **parts}, status=200)

    app.add_route(ready, ROUTE, methods=["GET"], name="nimbus_health_ready")


def install() -> None:
    """Add the route to every app Rasa's `run` command configures."""
    on_every_app(add_route)
