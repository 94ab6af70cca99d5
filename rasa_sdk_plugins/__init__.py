"""rasa-sdk's plugin entry point (it imports a top-level `rasa_sdk_plugins` if present).

The only plugin adds the knowledge-base readiness route (`actions/health.py`).
"""

from __future__ import annotations

import pluggy

hookimpl = pluggy.HookimplMarker("rasa_sdk")


class _HealthPlugin:
    @hookimpl
    def attach_sanic_app_extensions(self, app) -> None:  # noqa: ANN001 - Sanic app
        from actions.health import attach

        attach(app)


def init_hooks(manager: pluggy.PluginManager) -> None:
    manager.register(_HealthPlugin())
