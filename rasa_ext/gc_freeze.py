"""Keep the loaded model out of Python's full garbage collections.

The Rasa server holds ~560,000 objects once the model is loaded (TensorFlow, the domain,
the featurizers), and CPython's full collection walks all of them: 300-370 ms in which
the event loop, and so every conversation and every webhook acknowledgement, stands
still. Under load that happened about every ten seconds (three times in one 64-conversation
benchmark run, seen with a temporary `gc.callbacks` trace). None of these objects is
ever garbage, so once the server has started they are moved to the permanent generation
(`gc.freeze`): a full collection then only walks what the conversations allocate since,
under a millisecond here, and still frees their reference cycles.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from rasa_ext.apps import on_every_app

log = logging.getLogger(__name__)


def freeze_startup_objects(*_: Any) -> None:
    """Sanic `after_server_start` listener: Rasa's model is loaded by then."""
    started = time.perf_counter()
    gc.collect()  # what start-up left as garbage is freed, not kept for good
    gc.freeze()
    log.info(
        "%d start-up objects kept out of garbage collection (%.0f ms)",
        gc.get_freeze_count(),
        1000 * (time.perf_counter() - started),
    )


def install() -> None:
    on_every_app(lambda app: app.register_listener(freeze_startup_objects, "after_server_start"))
