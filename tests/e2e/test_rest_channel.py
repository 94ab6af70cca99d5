"""A customer talks to the real bot over the REST channel, with no model API configured:
the fresh-machine experience of `make run`."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from scripts.stack import ROOT
from tests.e2e.conftest import say, texts, tracker

DOMAIN = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())
GREETING = DOMAIN["responses"]["utter_greet"][0]["text"]
DONT_KNOW = DOMAIN["responses"]["utter_dont_know"][0]["text"]
APOLOGY = DOMAIN["responses"]["utter_action_failed"][0]["text"]
ARTICLE = "https://help.nimbushome.example/articles/"

QUESTIONS = [
    ("hey do you guys ship to the UK?", "international-shipping"),
    ("how many days until my refund shows up on my card", "refund-timing"),
    ("the thermostat screen is blank", "display-blank-or-no-power"),
]


def test_greeting_gets_the_greeting(plain_stack):
    assert texts(say(plain_stack, "greeter", "hello there")) == GREETING


@pytest.mark.parametrize("question,article", QUESTIONS)
def test_questions_are_answered_with_a_citation_of_the_right_article(plain_stack, question, article):
    replies = say(plain_stack, f"asker-{article}", question)
    text = texts(replies)
    assert "[1]" in text, text
    assert "Sources:" in text and ARTICLE + article in text, text
    payload = next(r["custom"] for r in replies if r.get("custom"))
    assert payload["citations"][0]["url"] == ARTICLE + article
    assert payload["method"] == "extractive"


def test_unsure_question_gets_the_nearest_articles_as_links(plain_stack):
    """Below the confident bar but clearly about the help centre: the articles that may help."""
    replies = say(plain_stack, "unsure", "is there a nimbus app for my smart tv")
    text = texts(replies)
    assert "these articles may help" in text and "[1]" not in text, text
    payload = next(r["custom"] for r in replies if r.get("custom"))
    assert payload["type"] == "knowledge_suggestions" and 1 <= len(payload["articles"]) <= 3
    assert all(a["url"].startswith(ARTICLE) and f"]({a['url']})" in text for a in payload["articles"])
    assert not any(r.get("buttons") for r in replies)


def test_off_topic_question_gets_dont_know(plain_stack):
    replies = say(plain_stack, "offtopic", "what is the capital city of australia?")
    assert texts(replies) == DONT_KNOW
    assert not any(r.get("custom") for r in replies)


def test_history_survives_a_rasa_restart(plain_stack):
    sender = "returning-customer"
    say(plain_stack, sender, "hi")
    say(plain_stack, sender, "how do I return my thermostat?")
    plain_stack.stop("rasa")
    plain_stack.start_rasa()
    events = tracker(plain_stack, sender)["events"]
    said = [e["text"] for e in events if e["event"] == "user"]
    assert said == ["hi", "how do I return my thermostat?"]
    # And the conversation goes on where it was.
    say(plain_stack, sender, "thanks")
    said = [e["text"] for e in tracker(plain_stack, sender)["events"] if e["event"] == "user"]
    assert said[-1] == "thanks" and len(said) == 3


def test_plain_rasa_run_keeps_readiness_and_the_apology(plain_stack):
    """`make run` starts plain `rasa run` with credentials.yml: the server channel listed
    there brings the readiness route and the apology, with no wrapper command."""
    rasa_cmd = plain_stack.processes["rasa"].args
    assert Path(rasa_cmd[0]).name == "rasa" and rasa_cmd[1] == "run", rasa_cmd
    assert "rasa_ext.server.NimbusServer" in plain_stack.credentials.read_text()

    body = wait_ready(plain_stack)
    assert body["tracker_store"]["type"] == "SQLTrackerStore"
    assert body["lock_store"]["type"] == "InMemoryLockStore"
    assert get_json(f"{plain_stack.rasa_url}/health/live") == (200, {"status": "ok"})

    plain_stack.stop("actions")  # last test of this module: the action server is gone
    replies = say(plain_stack, "plain-no-actions", "how do I reset my thermostat?")
    assert texts(replies) == APOLOGY
    status, body = get_json(f"{plain_stack.rasa_url}/health/ready")
    assert status == 200 and body["status"] == "degraded" and not body["action_server"]["ok"], body


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_ready(stack, timeout: float = 120) -> dict:
    """The action server loads its embedding model in the background after start-up."""
    deadline = time.monotonic() + timeout
    status, body = get_json(f"{stack.rasa_url}/health/ready")
    while body.get("status") != "ok" and time.monotonic() < deadline:
        time.sleep(1)
        status, body = get_json(f"{stack.rasa_url}/health/ready")
    assert status == 200 and body["status"] == "ok", body
    return body
