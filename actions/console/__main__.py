"""`python -m actions.console`: serve the support team's console (see actions/console/app.py).

Without CONSOLE_TOKEN it refuses to start (exit 2, one line): a console that shows
conversations must never be served open, and a default token would be one everybody knows.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.console", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("CONSOLE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("CONSOLE_PORT", "5056")))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    token = os.environ.get("CONSOLE_TOKEN", "").strip()
    if not token:
        print("console not started: set CONSOLE_TOKEN to a long random string", file=sys.stderr)
        return 2
    from actions.console.app import create_app, start_warm_up

    app = create_app(token)
    start_warm_up()
    app.run(host=args.host, port=args.port, single_process=True, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
