"""The Rasa server's own additions, loaded as an input channel listed in credentials.yml.

Rasa builds every input channel named in the credentials file and registers its
blueprint on the server's app; that is its extension point for routes and for start-up
and shutdown work. So plain `rasa run --credentials credentials.yml` (what `make run`
runs) gets all of it, with no wrapper command to forget:

- `GET /health/ready`, readiness for load balancers (rasa_ext/readiness.py), and
  `GET /health/live`.
- The patches Rasa has no extension point for (rasa_ext/patches.py), applied once when
  Rasa builds this channel: before the model loads and before any action runs. On a Rasa
  version they were not written for, `rasa run` stops there with a message saying so.
  `NIMBUS_RASA_PATCHES_OFF=name,name` leaves some out (how bench.patch_gains measures them).
- Once the server has started (Rasa loads the model before that): the apology when the
  action server fails, as the agent's action-server client (rasa_ext/apology.py); one
  line saying where handoffs go (connectors/common/handoff.py); and the objects start-up
  left (~560,000: TensorFlow, the domain, the featurizers) are moved out of Python's full
  garbage collections (`gc.freeze`). A full collection walked all of them, 300-370 ms in
  which the event loop, and so every conversation and every webhook acknowledgement,
  stood still; under load that happened about every ten seconds (three times in one
  64-conversation benchmark run, seen with a temporary `gc.callbacks` trace). None of
  them is ever garbage; afterwards a full collection walks only what conversations
  allocated since.

The channel receives no messages. Its routes sit under `/health`, not under `/webhooks/`.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_ext import apology, patches, readiness

log = logging.getLogger(__name__)


class NimbusServer(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "nimbus_server"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> NimbusServer:
        try:
            applied = patches.apply(patches_to_apply())
        except patches.UnsupportedRasaVersion as exc:
            raise SystemExit(f"error: {exc}") from None  # one sentence, no traceback
        log.info("Rasa %s patched: %s", patches.RASA_VERSION, ", ".join(applied) or "nothing")
        return cls()

    def url_prefix(self) -> str:
        # Rasa joins this to `/webhooks/`; an absolute path puts the routes at the root.
        return "/health"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("nimbus_server", __name__)

        @bp.route("/live", methods=["GET"])
        async def live(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/ready", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            parts = await readiness.readiness(getattr(request.app.ctx, "agent", None))
            status, state = readiness.verdict(parts)
            return response.json({"status": state, **parts}, status=status)

        @bp.listener("after_server_start")
        async def started(app: Any, _loop: Any) -> None:
            if not apology.install(getattr(app.ctx, "agent", None)):
                log.warning("no action endpoint: a failed custom action gets no apology")
            log_handoff_destinations()
            freeze_startup_objects()

        return bp


def patches_to_apply() -> list[str]:
    """Every patch but those named in `NIMBUS_RASA_PATCHES_OFF` (a name it does not know
    is refused: a typo must not measure the wrong configuration)."""
    off = {name.strip() for name in os.environ.get("NIMBUS_RASA_PATCHES_OFF", "").split(",") if name.strip()}
    if off - set(patches.PATCHES):
        raise SystemExit(
            f"error: NIMBUS_RASA_PATCHES_OFF names unknown patches {sorted(off - set(patches.PATCHES))}; "
            f"known: {sorted(patches.PATCHES)}"
        )
    return [name for name in patches.PATCHES if name not in off]


def log_handoff_destinations() -> None:
    """One start-up line saying where handoffs go, or that they go nowhere; by now every
    input channel exists (the Slack channel registers the team notifier when it is built),
    so the line reflects what this server can actually deliver."""
    try:
        from connectors.common.handoff import log_destinations
    except ImportError:  # pragma: no cover - rasa_ext without our connectors
        return
    log_destinations()


def freeze_startup_objects() -> None:
    """Rasa loads the model in a `before_server_start` listener: it is loaded by now."""
    started = time.perf_counter()
    gc.collect()  # what start-up left as garbage is freed, not kept for good
    gc.freeze()
    log.info(
        "%d start-up objects kept out of garbage collection (%.0f ms)",
        gc.get_freeze_count(),
        1000 * (time.perf_counter() - started),
    )
