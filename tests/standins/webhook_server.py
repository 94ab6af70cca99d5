"""A team's webhook endpoint: records every JSON POST, answers with a chosen status."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookStandIn:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self._event = threading.Condition()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with stand_in._event:
                    stand_in.paths.append(self.path)
                    stand_in.headers.append(dict(self.headers))
                    stand_in.received.append(json.loads(body or b"null"))
                    stand_in._event.notify_all()
                self.send_response(stand_in.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/handoff"

    def start(self) -> WebhookStandIn:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10) -> list[dict]:
        with self._event:
            self._event.wait_for(lambda: len(self.received) >= count, timeout)
        return list(self.received)
