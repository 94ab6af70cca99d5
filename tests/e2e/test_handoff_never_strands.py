"""A customer who asks for a person is never left talking to a silent bot: with no team
destination configured, or when the team webhook fails (HTTP 500, then unreachable), the
customer gets the contact line and the next question is answered. Real Rasa and action
servers over the REST channel; the webhook is a stand-in on loopback. The working-webhook
case (silent, and the team got the event) is in test_handoff_and_feedback.py."""

from __future__ import annotations

import pytest
import yaml

from scripts.stack import ROOT
from tests.e2e.conftest import running_stack, say, texts, tracker
from tests.standins.webhook_server import WebhookStandIn

RESPONSES = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())["responses"]
CONTACT = "Call us on 1-800-555-0199 or write to help@example.org."


def said(name: str, contact: str) -> str:
    return RESPONSES[name][0]["text"].replace("{contact}", contact)


def asks_for_a_person_then_a_question(stack, sender: str) -> str:
    """What the customer is told on asking for a person; checks the bot still answers after."""
    reply = texts(say(stack, sender, "I want to talk to a human"))
    slots = tracker(stack, sender)["slots"]
    assert slots["handoff_active"] is False and slots["unanswered_count"] == 0
    answer = texts(say(stack, sender, "how long do refunds take?"))
    # Helped either way: a cited answer or the article among "these articles may help".
    assert "articles/refund-timing" in answer
    return reply


@pytest.fixture(scope="module")
def unconfigured(tmp_path_factory, model, rest_credentials, kb_uri):
    """`make run` on a fresh machine: no webhook, no Slack, no contact line set."""
    tmp = tmp_path_factory.mktemp("no-destination")
    with running_stack(tmp, model, rest_credentials, kb_uri, {}) as stack:
        yield stack


def test_without_a_destination_the_customer_gets_the_contact_article_and_answers(unconfigured):
    reply = asks_for_a_person_then_a_question(unconfigured, "nobody-configured")
    assert "https://help.nimbushome.example/articles/contact-support" in reply
    assert reply.startswith(RESPONSES["utter_handoff_unavailable"][0]["text"].split("{contact}")[0])
    for name in ("actions", "rasa"):
        log = (unconfigured.log_dir / f"{name}.log").read_text(errors="replace")
        assert log.count("handoff has no destination") == 1, name  # said once, at start-up


@pytest.fixture(scope="module")
def team_webhook():
    server = WebhookStandIn(status=500).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def failing(tmp_path_factory, model, rest_credentials, kb_uri, team_webhook):
    tmp = tmp_path_factory.mktemp("failing-webhook")
    env = {"HANDOFF_WEBHOOK_URL": team_webhook.url, "HANDOFF_CONTACT_LINE": CONTACT}
    with running_stack(tmp, model, rest_credentials, kb_uri, env) as stack:
        yield stack


def test_a_failing_then_unreachable_webhook_gives_the_contact_line_and_the_bot_answers(failing, team_webhook):
    reply = asks_for_a_person_then_a_question(failing, "webhook-500")
    assert reply == said("utter_handoff_failed", CONTACT)
    assert [m["conversation_id"] for m in team_webhook.received] == ["web:webhook-500"] * 2  # tried twice

    team_webhook.stop()  # now nothing listens on the webhook's port
    reply = asks_for_a_person_then_a_question(failing, "webhook-down")
    assert reply == said("utter_handoff_failed", CONTACT)
    log = (failing.log_dir / "actions.log").read_text(errors="replace")
    assert "handoff for conversation web:webhook-down reached no destination (webhook)" in log
