"""One start-up line on the Rasa server saying where handoffs go, or that they go nowhere.

Runs once the input channels exist (the Slack channel registers the team notifier when it
is built), so the line reflects what this server can actually deliver.
"""

from __future__ import annotations

from typing import Any

from rasa_ext.apps import on_every_app


def _log(_app: Any) -> None:
    from connectors.common.handoff import log_destinations

    log_destinations()


def install() -> None:
    on_every_app(_log)
