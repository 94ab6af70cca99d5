"""The model client retries what may pass, waits with jitter, and gives up in bounded time
(against the OpenAI stand-in, through the real `openai` client)."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from knowledge.answer.llm import ChatModel, ModelUnavailable
from knowledge.answer.retry import backoff, delay_before_retry
from knowledge.config import LLMSettings
from tests.standins.openai_server import OpenAIStandIn

MESSAGES = [
    {"role": "system", "content": "x"},
    {"role": "user", "content": "<customer_question>\nhi\n</customer_question>"},
]


class TimedRequests(list):
    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[float] = []
        self._lock = threading.Lock()

    def append(self, body) -> None:  # noqa: ANN001
        with self._lock:
            self.arrived.append(time.monotonic())
            super().append(body)


@pytest.fixture
def standin():
    server = OpenAIStandIn().start()
    server.requests = TimedRequests()
    yield server
    server.stop()


def model(standin: OpenAIStandIn, **overrides) -> ChatModel:
    settings = {
        "api_key": "sk-test",
        "base_url": standin.base_url,
        "model": "m",
        "timeout": 2.0,
        "max_retries": 2,
        "total_timeout": 10.0,
        **overrides,
    }
    return ChatModel(LLMSettings(**settings))


@pytest.mark.parametrize("mode", ["error500", "error429"])
def test_transient_errors_are_retried_with_growing_jittered_waits(standin, mode, caplog):
    caplog.set_level(logging.INFO, logger="knowledge.answer.llm")
    standin.mode = mode
    client = model(standin)
    started = time.monotonic()
    with pytest.raises(ModelUnavailable):
        client.complete(MESSAGES, conversation_id="c-1")
    elapsed = time.monotonic() - started
    assert len(standin.requests) == 3  # the first try and two retries
    gaps = [b - a for a, b in zip(standin.requests.arrived, standin.requests.arrived[1:], strict=False)]
    # Each wait lies in its backoff step's jitter window: [step/2, step].
    assert 0.25 <= gaps[0] <= 0.5 + 0.3, gaps
    assert 0.5 <= gaps[1] <= 1.0 + 0.3, gaps
    assert elapsed < 3
    assert "model call failed for conversation c-1 after 3 attempt(s)" in caplog.text
    assert "retrying in" in caplog.text


def test_waits_differ_between_clients_hit_by_the_same_outage():
    """Jitter: the same attempt number does not give the same wait twice in a row."""
    waits = {round(backoff(1), 6) for _ in range(20)}
    assert len(waits) > 10
    assert all(0.5 <= w <= 1.0 for w in waits)


def test_a_slow_model_gives_up_within_the_total_budget(standin):
    standin.mode = "slow"
    standin.slow_seconds = 10
    client = model(standin, timeout=1.5, max_retries=5, total_timeout=3.0)
    started = time.monotonic()
    with pytest.raises(ModelUnavailable):
        client.complete(MESSAGES)
    elapsed = time.monotonic() - started
    assert elapsed < 3.0 + 0.5, elapsed
    assert 2 <= len(standin.requests) <= 3


class _AlwaysRateLimited(BaseHTTPRequestHandler):
    """A provider that rate-limits and asks for a 30 s pause."""

    hits = 0

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"error": {"message": "slow down", "type": "rate_limit_error"}}).encode()
        self.send_response(429)
        self.send_header("Retry-After", "30")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_retry_after_longer_than_the_budget_is_not_waited_for():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AlwaysRateLimited)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = ChatModel(
            LLMSettings(
                api_key="k",
                base_url=f"http://127.0.0.1:{server.server_address[1]}/v1",
                model="m",
                timeout=2,
                max_retries=3,
                total_timeout=10,
            )
        )
        started = time.monotonic()
        with pytest.raises(ModelUnavailable):
            client.complete(MESSAGES)
        assert time.monotonic() - started < 2
        assert _AlwaysRateLimited.hits == 1
    finally:
        server.shutdown()
        server.server_close()


def _status_error(status: int) -> Exception:
    import openai

    # The installed openai SDK vendors its HTTP client under this name.
    httpx = pytest.importorskip("httpx2")
    response = httpx.Response(
        status, request=httpx.Request("POST", "http://model.invalid/v1/chat/completions")
    )
    return openai.APIStatusError("failed", response=response, body=None)


@pytest.mark.parametrize(
    "status,retried",
    [(400, False), (401, False), (404, False), (408, True), (429, True), (500, True), (503, True)],
)
def test_only_failures_that_may_pass_are_retried(status, retried):
    assert (delay_before_retry(_status_error(status), 0) is not None) is retried
