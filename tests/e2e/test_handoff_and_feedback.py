"""Feedback and human handoff through the real Rasa server and action server, over the
REST channel, with a stand-in for the support team's webhook."""

from __future__ import annotations

import json
import subprocess
import urllib.request

import pytest
import yaml

from scripts.stack import ACTIONS_BIN, ROOT
from tests.e2e.conftest import conversation_id, running_stack, say, texts, tracker
from tests.standins.webhook_server import WebhookStandIn

DOMAIN = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())["responses"]


def response(name: str) -> str:
    return DOMAIN[name][0]["text"]


@pytest.fixture(scope="module")
def team_webhook():
    server = WebhookStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, model, rest_credentials, kb_uri, team_webhook):
    tmp = tmp_path_factory.mktemp("handoff")
    env = {"HANDOFF_WEBHOOK_URL": team_webhook.url, "FEEDBACK_DB": str(tmp / "feedback.sqlite")}
    with running_stack(tmp, model, rest_credentials, kb_uri, env) as stack:
        stack.feedback_db = tmp / "feedback.sqlite"
        stack.handoff_db = tmp / "handoffs.sqlite"  # beside FEEDBACK_DB by default
        yield stack


def actions_cli(*args: str) -> str:
    """The team's commands, run the way the README documents them."""
    result = subprocess.run(
        [str(ACTIONS_BIN / "python"), "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def slot(stack, sender: str, name: str):
    return tracker(stack, sender)["slots"].get(name)


def test_feedback_press_is_recorded_for_the_team(stack):
    sender = "feedback-customer"
    replies = say(stack, sender, "how many days until my refund shows up on my card")
    answer = next(r["custom"] for r in replies if r.get("custom"))
    ref = answer["feedback_ref"]

    ack = say(stack, sender, f'/feedback_unhelpful{{"ref":"{ref}"}}')
    assert texts(ack) == response("utter_feedback_sorry")

    listed = actions_cli("actions.feedback", "--db", str(stack.feedback_db), "list", "--unhelpful", "--json")
    records = [json.loads(line) for line in listed.splitlines()]
    assert len(records) == 1
    record = records[0]
    assert record["question"] == "how many days until my refund shows up on my card"
    assert record["answer"] == answer["answer"]
    assert record["citations"][0]["article_id"] == "refund-timing"
    assert record["channel"] == "rest" and record["verdict"] == "unhelpful" and record["verdict_at"]


def test_handoff_notifies_the_team_and_silences_the_bot_until_handed_back(stack, team_webhook):
    sender = "handoff-customer"
    say(stack, sender, "hi")
    replies = say(stack, sender, "I want to talk to a human")
    assert texts(replies) == response("utter_handoff")
    # The transcript is for the team: never in the customer's response.
    assert not any("handoff" in (r.get("custom") or {}) for r in replies)
    assert "transcript" not in json.dumps(replies)

    notice = next(m for m in team_webhook.wait_for(1) if m.get("conversation_id") == conversation_id(sender))
    assert notice["event"] == "handoff_requested" and notice["reason"] == "customer_asked"
    said = [(t["from"], t["text"]) for t in notice["transcript"]]
    assert said[0] == ("customer", "hi") and said[-1] == ("customer", "I want to talk to a human")
    assert ("bot", response("utter_greet")) in said

    # The agent has the conversation: the bot says nothing, whatever the customer writes.
    assert say(stack, sender, "hello? anyone there?") == []
    assert say(stack, sender, "how do I return my thermostat?") == []
    assert slot(stack, sender, "handoff_active") is True
    forwarded = [m for m in team_webhook.wait_for(2) if m.get("event") == "customer_message"]
    assert [m["text"] for m in forwarded if m["conversation_id"] == conversation_id(sender)][:1] == [
        "hello? anyone there?"
    ]

    # The team sees it open, an agent claims it, then hands it back, all with the documented
    # commands (Rasa's HTTP API underneath); the record and the webhook follow each step.
    listed = actions_cli("actions.handoff", "list", "--db", str(stack.handoff_db), "--json")
    (record,) = [
        r for r in map(json.loads, listed.splitlines()) if r["conversation_id"] == conversation_id(sender)
    ]
    assert record["status"] == "open" and record["reason"] == "customer_asked" and record["opened_at"]
    assert record["id"] == notice["handoff_id"] and record["delivered_to"] == ["webhook"]

    token = stack.api_token
    rasa = ["--rasa-url", stack.rasa_url, "--token", token, "--agent", "Ann"]
    actions_cli("actions.handoff", "claim", conversation_id(sender), *rasa)
    assert say(stack, sender, "still waiting") == []  # claimed: the bot stays out of it
    actions_cli("actions.handoff", "release", conversation_id(sender), *rasa)
    assert slot(stack, sender, "handoff_active") is False
    answer = say(stack, sender, "how do I return my thermostat?")
    assert "[1]" in texts(answer) and "Sources:" in texts(answer)

    steps = [m for m in team_webhook.wait_for(6) if m.get("conversation_id") == conversation_id(sender)]
    assert [m["event"] for m in steps] == [
        "handoff_requested",
        "customer_message",
        "customer_message",
        "handoff_claimed",
        "customer_message",
        "handoff_resolved",
    ]
    assert {m["handoff_id"] for m in steps} == {notice["handoff_id"]}
    assert steps[-1]["agent"] == "Ann" and steps[-1]["outcome"] == "handed_back"
    listed = actions_cli("actions.handoff", "list", "--db", str(stack.handoff_db), "--all", "--json")
    (record,) = [
        r for r in map(json.loads, listed.splitlines()) if r["conversation_id"] == conversation_id(sender)
    ]
    assert record["status"] == "resolved" and record["agent"] == "Ann"
    assert record["opened_at"] <= record["claimed_at"] <= record["resolved_at"]
    # An agent's claim and hand-back never show up as something the customer said.
    assert "EXTERNAL: " not in json.dumps(team_webhook.received)


def test_two_unanswered_questions_hand_over_and_the_raw_api_hands_back(stack, team_webhook):
    sender = "stumped-customer"
    assert texts(say(stack, sender, "what is the capital city of australia?")) == response("utter_dont_know")
    second = texts(say(stack, sender, "who painted the mona lisa"))
    assert second == response("utter_dont_know_again") + "\n" + response("utter_handoff")
    notices = [m for m in team_webhook.wait_for(1) if m.get("conversation_id") == conversation_id(sender)]
    assert notices and notices[0]["reason"] == "unanswered_questions"
    assert say(stack, sender, "hello?") == []

    request = urllib.request.Request(
        f"{stack.rasa_url}{notices[0]['hand_back']['path']}?token={stack.api_token}",
        json.dumps(notices[0]["hand_back"]["body"]).encode(),
        {"Content-Type": "application/json"},
        method=notices[0]["hand_back"]["method"],
    )
    urllib.request.urlopen(request, timeout=30).read()
    assert texts(say(stack, sender, "hi")) == response("utter_greet")
