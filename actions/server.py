"""Entry point of the action server: rasa-sdk's app, served in a single process.

rasa-sdk's own `python -m rasa_sdk` starts Sanic's multi-process manager, which spawns a
worker that re-imports the actions (torch, the embedding model) and kills everything if
that takes more than 30 seconds, as it can on a busy 2-core machine. One process per
action server keeps start-up predictable and the model in memory once; to use more
cores, run more action servers behind the load balancer (see README, "Scaling out").
"""

from __future__ import annotations

import argparse
import logging
import os

from rasa_sdk.endpoint import create_app
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.plugin import plugin_manager


def build_app(package: str = "actions"):
    executor = ActionExecutor()
    executor.register_package(package)
    app = create_app(executor)
    # rasa-sdk attaches plugin routes only on its own multi-process path; do the same
    # here so `/health/ready` (rasa_sdk_plugins -> actions/health.py) is served.
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the action server.")
    parser.add_argument("--host", default=os.environ.get("ACTION_HOST", "0.0.0.0"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTION_PORT", "5055")))
    parser.add_argument("--actions", default="actions")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = build_app(args.actions)
    from actions.handoff import log_destinations

    log_destinations()  # one line; says so when a customer asking for a person could reach no one
    from actions.handoff_timer import start_from_env

    start_from_env()  # unclaimed and idle handoffs, from the deadlines stored in the records
    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
