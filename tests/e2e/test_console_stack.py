"""The team console as `make run` starts it, reading what the real Rasa server and action
server wrote: conversations from Rasa's tracker store, refusals from the knowledge action.

The tracker store is the one a deployment with a database server uses: our SQL tracker
store on a real PostgreSQL (the shipped endpoints.yml with `dialect: postgresql`), and the
console reads it through `TRACKER_URL=postgresql://...`. SQLite, `make run`'s default, is
the store of every other end-to-end stack."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import urllib.error
import urllib.request

import pytest
import yaml

from scripts.stack import ACTIONS_BIN, ROOT, free_port
from tests.e2e.conftest import running_stack, say, texts
from tests.standins.webhook_server import WebhookStandIn

TOKEN = "e2e-console-" + os.urandom(6).hex()
PHONE_SENDER = "+14155550123"


@pytest.fixture(scope="module")
def team_webhook():
    server = WebhookStandIn().start()
    yield server
    server.stop()


def postgres_endpoints(path, postgres, database: str):
    """The shipped endpoints.yml, its tracker store pointed at PostgreSQL as Rasa's `type: SQL`
    takes it (`login_db` lets the store create its database)."""
    endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    endpoints["tracker_store"].update(
        dialect="postgresql",
        url=postgres.host,
        port=postgres.port,
        db=database,
        username=postgres.user,
        password=postgres.password,
        login_db="postgres",
    )
    path.write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory, model, rest_credentials, kb_uri, team_webhook, postgres):
    tmp = tmp_path_factory.mktemp("console")
    endpoints = postgres_endpoints(tmp / "endpoints.yml", postgres, "console_e2e")
    env = {
        "CONSOLE_TOKEN": TOKEN,
        "HANDOFF_AFTER_MISSES": "2",
        "HANDOFF_WEBHOOK_URL": team_webhook.url,
        "TRACKER_URL": postgres.url("console_e2e"),
        "REDIS_HOST": "",
    }
    with running_stack(tmp, model, rest_credentials, kb_uri, env, endpoints) as stack:
        stack.postgres_password = postgres.password
        stack.console_port = free_port()
        stack.start_console()
        yield stack


def get(stack, path: str, token: str | None = TOKEN) -> tuple[int, str]:
    headers = (
        {"Authorization": f"Bearer {token}", "Accept": "text/html"} if token else {"Accept": "text/html"}
    )
    request = urllib.request.Request(stack.console_url + path, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_console_shows_what_the_bot_wrote(stack):
    assert "refund" in texts(say(stack, PHONE_SENDER, "how many days until my refund shows up on my card"))
    say(stack, "web-7", "what is the capital city of australia?")
    say(stack, "web-7", "who painted the mona lisa")  # second miss in a row: handed to a person

    status, page = get(stack, "/conversations", token=None)
    assert status == 401 and "how many days" not in page

    status, page = get(stack, "/conversations")
    assert status == 200
    assert "SQL tracker store (postgresql://" in page and stack.postgres_password not in page
    assert "how many days until my refund shows up on my card" in page
    assert "4155550123" not in page
    assert "+" + "•" * 9 + "23" in page  # the last two digits tell two customers apart
    handoffs = page.split('id="handoffs"')[1].split("</table>")[0]
    assert "web-7" in handoffs and "unanswered_questions" in handoffs and "waiting for an agent" in handoffs
    assert "handoff records" in page  # read from the action server's records, not guessed from slots
    assert PHONE_SENDER not in handoffs

    status, exported = get(stack, "/gaps.csv")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert {(r["question"], r["kind"], r["channel"]) for r in rows} == {
        ("what is the capital city of australia?", "refused", "rest"),
        ("who painted the mona lisa", "handoff", "rest"),
    }


def test_the_gaps_command_prints_the_same_groups(stack):
    result = subprocess.run(
        [str(ACTIONS_BIN / "python"), "-m", "actions.gaps"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, **stack._env(), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("2 questions in ")
    assert "who painted the mona lisa" in result.stdout or "capital city of australia" in result.stdout


def test_without_a_token_the_console_refuses_to_start():
    result = subprocess.run(
        [str(ACTIONS_BIN / "python"), "-m", "actions.console", "--port", str(free_port())],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "CONSOLE_TOKEN": ""},
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "console not started: set CONSOLE_TOKEN to a long random string"
