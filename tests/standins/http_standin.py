"""Shared plumbing for platform API stand-ins: a loopback HTTP server that records requests.

Each stand-in answers in its platform's real wire format; tests read `requests` to see
exactly what the connector sent, and queue failures (429 with Retry-After, 5xx) to see
how it copes. Observers are told of every answered call as it happens, so a load
generator can wake the one conversation a reply belongs to instead of polling.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str  # API method name, e.g. "chat.postMessage", "sendMessage", "Messages"
    path: str
    headers: dict[str, str]
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    reply: dict[str, Any] = field(default_factory=dict)  # what the stand-in answered


@dataclass
class Failure:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)


def decode_params(content_type: str, raw: bytes, query: str) -> dict[str, Any]:
    params: dict[str, Any] = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
    if not raw:
        return params
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        data = json.loads(raw)
        if isinstance(data, dict):
            params.update(data)
    elif kind == "application/x-www-form-urlencoded":
        params.update(
            {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()}
        )
    elif kind.startswith("multipart/form-data"):
        params.update(_multipart(content_type, raw))
    return params


def _multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True) or b""
            fields[name] = payload.decode("utf-8", "replace")
    return fields


class LoopbackServer(ThreadingHTTPServer):
    """A platform takes many connections at once; socketserver's default listen backlog
    of 5 would drop SYNs under load and add TCP's 1 s / 3 s retransmit waits to a reply."""

    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return  # the client gave up on a call (a cancelled typing indicator): not news
        super().handle_error(request, client_address)


class StandIn:
    """Subclasses implement `route(path) -> method name or None` and `answer(record) -> (status, body)`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.failures: dict[str, list[Failure]] = {}
        self.delays: dict[str, float] = {}  # method -> seconds before it answers
        # Called from the server's thread after each answer: (record, status, body).
        self.observers: list[Callable[[Recorded, int, dict[str, Any]], None]] = []
        self._lock = threading.Lock()
        self._server = LoopbackServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, method: str, *failures: Failure) -> None:
        with self._lock:
            self.failures.setdefault(method, []).extend(failures)

    def slow(self, method: str, seconds: float) -> None:
        """Answer `method` only after `seconds`, like a platform API under strain."""
        with self._lock:
            self.delays[method] = seconds

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.failures.clear()
            self.delays.clear()

    def calls(self, method: str, where: Callable[[Recorded], bool] = lambda r: True) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and where(r)]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 60.0,
        where: Callable[[Recorded], bool] = lambda r: True,
    ) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls(method, where)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(
            f"expected {count} {method} call(s) within {timeout:.0f} s, got "
            f"{len(self.calls(method, where))}: {[r.method for r in self.requests]}"
        )

    def _notify(self, record: Recorded, status: int, body: dict[str, Any]) -> None:
        for observer in list(self.observers):
            observer(record, status, body)

    # --- to implement -----------------------------------------------------------------
    def route(self, path: str) -> str | None:
        raise NotImplementedError

    def answer(self, record: Recorded) -> tuple[int, dict[str, Any]]:
        raise NotImplementedError

    def content_type(self) -> str:
        return "application/json"

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm a client that
            # keeps the connection alive would wait ~40 ms (delayed ACK) for each body,
            # a stall that real platform APIs do not have.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(
                self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
            ) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", standin.content_type())
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if len(raw) < length:
                    # The client went away mid-request (a process stopped while a call was
                    # on its way): the platform never receives such a call, so it is no call.
                    self.close_connection = True
                    return
                method = standin.route(parsed.path)
                if method is None:
                    self._reply(404, {"ok": False, "error": "unknown_method"})
                    return
                params = decode_params(self.headers.get("Content-Type", ""), raw, parsed.query)
                record = Recorded(
                    method, parsed.path, {k.lower(): v for k, v in self.headers.items()}, params
                )
                with standin._lock:
                    standin.requests.append(record)
                    queued = standin.failures.get(method)
                    failure = queued.pop(0) if queued else None
                    delay = standin.delays.get(method, 0.0)
                if delay:
                    time.sleep(delay)
                if failure is not None:
                    self._reply(failure.status, failure.body, failure.headers)
                    standin._notify(record, failure.status, failure.body)
                    return
                status, body = standin.answer(record)
                record.reply = body
                self._reply(status, body)
                standin._notify(record, status, body)

            do_POST = _handle
            do_GET = _handle

        return Handler
