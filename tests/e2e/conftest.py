"""Real servers for end-to-end tests: a trained Rasa model, the rasa-sdk action server,
a LanceDB index of the sample articles, all on free loopback ports."""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from scripts.stack import ROOT, Stack, free_port, ingest, train_model, write_active_credentials
from tests.standins.openai_server import OpenAIStandIn


@pytest.fixture(scope="session")
def kb_uri(tmp_path_factory) -> str:
    uri = str(tmp_path_factory.mktemp("kb") / "lancedb")
    ingest(ROOT / "knowledge" / "articles", uri, quiet=True)
    return uri


@pytest.fixture(scope="session")
def model() -> Path:
    return train_model(quiet=True)


@pytest.fixture(scope="session")
def rest_credentials(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("creds") / "credentials.yml"
    write_active_credentials(ROOT / "credentials.yml", path)
    return path


def make_stack(tmp: Path, model: Path, credentials: Path, kb_uri: str, extra_env: dict[str, str]) -> Stack:
    env = {
        "KB_URI": kb_uri,
        "TRACKER_DB": str(tmp / "tracker.db"),
        "FEEDBACK_DB": str(tmp / "feedback.sqlite"),
        # A developer's own team webhook must never receive test handoffs.
        "HANDOFF_WEBHOOK_URL": "",
        "SLACK_HANDOFF_CHANNEL": "",
        "HANDOFF_CONTACT_LINE": "",
        # No real provider is reachable from tests: only the stand-in may be configured.
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
        **extra_env,
    }
    return Stack(
        rasa_port=free_port(),
        action_port=free_port(),
        model=model,
        credentials=credentials,
        env=env,
        log_dir=tmp / "logs",
        api_token=secrets.token_hex(8),
        interface="127.0.0.1",
    )


@contextmanager
def running_stack(
    tmp: Path,
    model: Path,
    credentials: Path,
    kb_uri: str,
    extra_env: dict[str, str],
    endpoints: Path | None = None,
) -> Iterator[Stack]:
    """`make_stack` with both servers started, stopped when the block ends (also when a
    server failed to start, so no process outlives the fixture)."""
    stack = make_stack(tmp, model, credentials, kb_uri, extra_env)
    if endpoints is not None:
        stack.endpoints = endpoints
    try:
        stack.start_actions()
        stack.start_rasa()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def plain_stack(tmp_path_factory, model, rest_credentials, kb_uri):
    """The bot as `make run` starts it on a fresh machine: no model API configured."""
    tmp = tmp_path_factory.mktemp("plain")
    with running_stack(tmp, model, rest_credentials, kb_uri, {}) as stack:
        yield stack


@pytest.fixture(scope="module")
def openai_standin():
    server = OpenAIStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def llm_stack(tmp_path_factory, model, rest_credentials, kb_uri, openai_standin):
    tmp = tmp_path_factory.mktemp("llm")
    env = {
        "OPENAI_API_KEY": "sk-test-standin",
        "OPENAI_BASE_URL": openai_standin.base_url,
        "OPENAI_MODEL": "stand-in-model",
        "OPENAI_TIMEOUT": "2",
        "OPENAI_MAX_RETRIES": "1",
    }
    with running_stack(tmp, model, rest_credentials, kb_uri, env) as stack:
        yield stack


def say(stack: Stack, sender: str, text: str) -> list[dict]:
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        json.dumps({"sender": sender, "message": text}).encode(),
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def texts(replies: list[dict]) -> str:
    return "\n".join(r["text"] for r in replies if r.get("text"))


PLATFORM_PREFIXES = ("slack:", "telegram:", "sms:", "whatsapp:", "web:")


def conversation_id(sender: str) -> str:
    """The conversation a REST `sender` talks in: the REST channel keeps its own `web:`
    namespace, so a platform id passed here is used as it is."""
    return sender if sender.startswith(PLATFORM_PREFIXES) else f"web:{sender}"


def tracker(stack: Stack, sender: str) -> dict:
    url = f"{stack.rasa_url}/conversations/{conversation_id(sender)}/tracker?token={stack.api_token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


# Channel e2e fixtures (one shared stack with Slack, Telegram and SMS), defined in channels.py
# and registered here so each is a single session fixture for all test modules.
from tests.e2e.channels import (  # noqa: E402, F401
    channel_credentials,
    channel_stack,
    openai_latency_standin,
    slack_api,
    telegram_api,
    twilio_api,
)


def pytest_collection_modifyitems(items) -> None:
    """Every end-to-end test runs a trained model: `make test-e2e` selects them with `-m model`."""
    for item in items:
        if "/tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.model)
