"""The one hook the additions use to reach the Sanic app that `rasa run` builds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def on_every_app(configure: Callable[[Any], None]) -> None:
    """Call `configure(app)` on every app Rasa's `run` command configures."""
    from rasa.core import run

    original = run.configure_app

    def configure_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)
        configure(app)
        return app

    run.configure_app = configure_app
