"""The action server's side of the agent desk: an agent's Slack mrkdwn as each channel shows
it, agent messages (distinct from the bot's, claiming an unclaimed handoff), the waiting
notice inside and outside support hours, and the idle timeout; with a real SQLite handoff
store and a stand-in team webhook."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from actions import handoff, handoff_timer
from actions.render.agent import render_agent_message
from actions.support_hours import SupportHours, seconds
from tests.actions.test_feedback_and_handoff import make_tracker, run, slots, user
from tests.standins.webhook_server import WebhookStandIn

MRKDWN = (
    "Hi, *sorry* about _that_ ~typo~! Run `reset &lt;now&gt;` or see "
    "<https://help.example/a?x=1&amp;y=2|the article> &amp; <mailto:help@example.org|email us>. <!here>\n"
    "```line 1\nline <2>```"
)


def test_slack_mrkdwn_becomes_each_channels_format():
    sms = render_agent_message(MRKDWN, "Ann", "sms")
    assert sms["sms"]["text"] == (
        "Ann: Hi, sorry about that typo! Run reset <now> or see the article (https://help.example/a?x=1&y=2)"
        " & email us (help@example.org). @here\nline 1\nline <2>"
    )
    assert sms["text"] == sms["sms"]["text"] and sms["agent_message"] == {"text": sms["text"], "agent": "Ann"}
    telegram = render_agent_message(MRKDWN, "Ann", "telegram")["telegram"]["html"]
    assert telegram == (
        "<b>Ann:</b> Hi, <b>sorry</b> about <i>that</i> <s>typo</s>! "
        "Run <code>reset &lt;now&gt;</code> or see "
        '<a href="https://help.example/a?x=1&amp;y=2">the article</a> &amp; '
        '<a href="mailto:help@example.org">email us</a>. @here\n<pre>line 1\nline &lt;2&gt;</pre>'
    )
    whatsapp = render_agent_message(MRKDWN, "Ann", "whatsapp")["whatsapp"]["text"]
    assert whatsapp.startswith("*Ann:* Hi, *sorry* about _that_ ~typo~! Run ```reset <now>```")
    slack = render_agent_message(MRKDWN, "Ann", "slack")["slack"]["text"]
    assert slack.startswith("*Ann:* Hi, *sorry*") and "<!here>" not in slack and "@here" in slack
    web = render_agent_message(MRKDWN, "", "rest")
    assert set(web) == {"agent_message", "text"} and web["text"].startswith("Support team: Hi, sorry")


def test_markers_inside_words_and_urls_stay_as_typed():
    assert render_agent_message("snake_case_name and 2*3*4", "A", "sms")["sms"]["text"] == (
        "A: snake_case_name and 2*3*4"
    )


@pytest.fixture
def webhook(monkeypatch):
    server = WebhookStandIn().start()
    monkeypatch.setenv("HANDOFF_WEBHOOK_URL", server.url)
    monkeypatch.delenv("SLACK_HANDOFF_CHANNEL", raising=False)
    yield server
    server.stop()


def external(intent, entities=None, channel="sms", sender="sms:abc", language=None):
    event = user(
        f"EXTERNAL: {intent}", intent, [{"entity": k, "value": v} for k, v in (entities or {}).items()]
    )
    event["input_channel"] = channel
    event["metadata"] = {"is_external": True}
    return make_tracker(
        [user("human please", "request_human", channel=channel), event],
        {"handoff_active": True, "language": language},
        sender,
    )


def open_handoff(sender="sms:abc", channel="sms"):
    tracker = make_tracker([user("human please", "request_human", channel=channel)], sender=sender)
    replies, events = run(handoff.ActionHandoff(), tracker)
    assert slots(events)["handoff_active"] is True
    return replies[1]["custom"]["handoff"]["handoff_id"]


def test_an_agent_message_is_rendered_for_the_channel_claims_the_handoff_and_is_reported(webhook):
    handoff_id = open_handoff()
    tracker = external("EXTERNAL_agent_message", {"agent": "Ann", "agent_text": "Hi *there*"})
    replies, events = run(handoff.ActionAgentMessage(), tracker)
    assert events == []
    (message,) = replies
    assert message["custom"]["sms"] == {"text": "Ann: Hi there"}
    assert message["custom"]["agent_message"]["agent"] == "Ann"  # not the bot's words
    record = handoff.handoff_store().get(handoff_id)
    assert record.status == "claimed" and record.agent == "Ann" and record.last_activity_at
    sent = webhook.wait_for(3)
    assert [m["event"] for m in sent] == ["handoff_requested", "handoff_claimed", "agent_message"]
    assert sent[2]["text"] == "Hi *there*" and sent[2]["handoff_id"] == handoff_id
    # The transcript of a later handoff shows who said what.
    bot = {"event": "bot", "text": message["text"], "data": {"custom": message["custom"]}}
    turns = handoff.transcript(make_tracker([user("hi", "greet"), bot, user("ok", "greet")]))
    assert [t["from"] for t in turns] == ["customer", "agent", "customer"]


def test_an_agent_message_without_an_open_handoff_reaches_nobody(webhook):
    tracker = external("EXTERNAL_agent_message", {"agent": "Ann", "agent_text": "Hi"})
    assert run(handoff.ActionAgentMessage(), tracker) == ([], [])
    assert webhook.received == []


def test_the_waiting_notice_is_sent_once_and_says_when_the_team_is_back_outside_hours(webhook, monkeypatch):
    open_handoff()
    monkeypatch.setenv("HANDOFF_UNCLAIMED_WAIT", "0")
    monkeypatch.setenv("SUPPORT_HOURS", "Mon-Fri 08:00-20:00 America/New_York")
    monkeypatch.setattr(SupportHours, "is_open", lambda self, now=None: False)
    monkeypatch.setattr(
        SupportHours, "next_opening", lambda self, now=None: datetime(2026, 12, 7, 8, 0, tzinfo=self.zone)
    )
    assert [c for c, _ in handoff_timer.due()] == ["sms:abc"]
    replies, _ = run(handoff.ActionHandoffWaiting(), external("EXTERNAL_handoff_waiting"))
    assert replies[0]["response"] == "utter_handoff_waiting_closed"
    assert replies[0]["opens"] == "Monday 08:00 (America/New York time)"
    assert run(handoff.ActionHandoffWaiting(), external("EXTERNAL_handoff_waiting")) == ([], [])  # once
    assert handoff_timer.due() == []
    assert webhook.wait_for(2)[1]["event"] == "handoff_waiting"


def test_outside_hours_the_opening_time_reads_in_the_conversations_language(webhook, monkeypatch):
    """The weekday used to come from the server's locale: "a partir del Monday 08:00"."""
    monkeypatch.setenv("HANDOFF_UNCLAIMED_WAIT", "0")
    monkeypatch.setenv("SUPPORT_HOURS", "Mon-Fri 08:00-20:00 America/New_York")
    monkeypatch.setattr(SupportHours, "is_open", lambda self, now=None: False)
    monkeypatch.setattr(
        SupportHours, "next_opening", lambda self, now=None: datetime(2026, 12, 7, 8, 0, tzinfo=self.zone)
    )
    open_handoff(sender="sms:es")
    replies, _ = run(
        handoff.ActionHandoffWaiting(), external("EXTERNAL_handoff_waiting", sender="sms:es", language="es")
    )
    assert replies[0]["response"] == "utter_handoff_waiting_closed"
    assert replies[0]["opens"] == "lunes a las 08:00 (hora de America/New York)"


def test_inside_support_hours_the_waiting_notice_says_the_team_is_busy(webhook, monkeypatch):
    open_handoff()
    monkeypatch.setenv("HANDOFF_UNCLAIMED_WAIT", "0")
    monkeypatch.delenv("SUPPORT_HOURS", raising=False)
    replies, _ = run(handoff.ActionHandoffWaiting(), external("EXTERNAL_handoff_waiting"))
    assert [r["response"] for r in replies] == ["utter_handoff_waiting"]


def test_a_claimed_handoff_left_idle_goes_back_to_the_bot_and_the_team_hears_it(webhook, monkeypatch):
    handoff_id = open_handoff()
    run(handoff.ActionHandoffClaimed(), external("EXTERNAL_handoff_claimed", {"agent": "Bo"}))
    monkeypatch.setenv("HANDOFF_IDLE_TIMEOUT", "1h")
    assert handoff_timer.due() == []  # still within the hour
    assert run(handoff.ActionHandoffExpired(), external("EXTERNAL_handoff_expired")) == ([], [])
    monkeypatch.setenv("HANDOFF_IDLE_TIMEOUT", "0")
    assert handoff_timer.due() == [("sms:abc", "EXTERNAL_handoff_expired")]
    replies, events = run(handoff.ActionHandoffExpired(), external("EXTERNAL_handoff_expired"))
    assert [r["response"] for r in replies] == ["utter_handoff_expired"]
    assert slots(events) == {"handoff_active": False, "unanswered_count": 0.0}
    record = handoff.handoff_store().get(handoff_id)
    assert record.status == "resolved" and record.outcome == "timed_out" and record.agent == "Bo"
    assert [m["event"] for m in webhook.wait_for(3)][-1] == "handoff_resolved"
    assert json.dumps(webhook.received[-1]).count("timed_out") == 1


def test_support_hours_and_durations_are_read_as_operators_write_them():
    hours = SupportHours.parse("Mon-Fri 08:00-20:00 America/New_York")
    saturday = datetime(2026, 12, 5, 15, 0, tzinfo=timezone.utc)  # 10:00 in New York
    monday_morning = datetime(2026, 12, 7, 14, 0, tzinfo=timezone.utc)  # 09:00 in New York
    assert not hours.is_open(saturday) and hours.is_open(monday_morning)
    assert hours.describe(hours.next_opening(saturday)) == "Monday 08:00 (America/New York time)"
    opening = hours.next_opening(saturday)
    assert hours.describe(opening, "de") == "Montag, 08:00 Uhr (Zeitzone America/New York)"
    assert hours.describe(opening, "fr") == "lundi 08:00 (heure de America/New York)"
    assert hours.describe(opening, "pt") == "segunda-feira às 08:00 (hora de America/New York)"
    assert hours.describe(opening, "xx") == hours.describe(opening, None) == hours.describe(opening)
    assert hours.next_opening(monday_morning) is None
    friday_night = SupportHours.parse("Fri-Mon 22:00-24:00 UTC")
    assert friday_night.days == frozenset({4, 5, 6, 0})
    for bad in ("Mon-Fri 20:00-08:00 UTC", "Mon-Fri 08:00-20:00 Mars/Olympus", "weekdays"):
        with pytest.raises(ValueError):
            SupportHours.parse(bad)
    assert [seconds(v, 7) for v in ("", "90", "90s", "5m", "1h", "soon")] == [7, 90, 90, 300, 3600, 7]
