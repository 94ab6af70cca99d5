"""`GET /health/ready` on the action server: can it answer from the knowledge base?

rasa-sdk's own `/health` only says the process is up. A load balancer (and the Rasa
server's own readiness check) also needs to know that the embedding model is loaded and
that the knowledge base at `KB_URI` exists and holds chunks; otherwise every question
would get "I can't look up our help articles". Registered through rasa-sdk's plugin hook
(`rasa_sdk_plugins`), so rasa-sdk itself is used unchanged.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sanic import Sanic
from sanic.request import Request
from sanic.response import HTTPResponse, json

from actions import knowledge_action

CHECK_TIMEOUT = 3.0
ROUTE = "/health/ready"


def knowledge_status() -> dict[str, Any]:
    """The embedding model and the index, without building either if not built yet."""
    warming = knowledge_action.WARM_UP and not knowledge_action.warmed_up.is_set()
    if warming or knowledge_action._build_knowledge_base.cache_info().currsize == 0:
        return {"ok": False, "error": "still loading the embedding model"}
    kb = knowledge_action.knowledge_base()
    store = kb.store
    if not store.exists():
        return {"ok": False, "uri": store.uri, "error": f"no table {store.table_name!r}: run `kb ingest`"}
    store.refresh()
    chunks = store.count()
    if chunks == 0:
        return {"ok": False, "uri": store.uri, "chunks": 0, "error": "the knowledge base is empty"}
    return {"ok": True, "uri": store.uri, "chunks": chunks, "model_api": bool(kb.model)}


async def ready(_: Request) -> HTTPResponse:
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    try:
        status = await asyncio.wait_for(loop.run_in_executor(None, knowledge_status), CHECK_TIMEOUT)
    except asyncio.TimeoutError:
        status = {"ok": False, "error": f"no answer within {CHECK_TIMEOUT:.0f} s"}
    except Exception as exc:  # noqa: BLE001 - the probe reports, it never raises
        status = {"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    status["ms"] = round((time.monotonic() - started) * 1000, 1)
    ok = status["ok"]
    body = {"status": "ok" if ok else "unavailable", "knowledge_base": status}
    return json(body, status=200 if ok else 503)


def attach(app: Sanic) -> None:
    app.add_route(ready, ROUTE, methods=["GET"], name="nimbus_health_ready")
