"""Handoff deadlines, end to end and across restarts: an SMS customer nobody answered is
told (outside support hours: when the team is back) even though the action server was
down when the deadline passed; a claimed handoff nobody writes in goes back to the bot
after both servers restarted, with a notice in the team's thread and an SMS to the
customer. Real `rasa run`, action server, connectors; Slack and Twilio stand-ins."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.e2e.conftest import running_stack
from tests.e2e.test_handoff_agent_desk import AGENT, agent_writes, notice_of, wait_in_thread
from tests.e2e.test_handoff_to_team_channel import text_sms, variant

UNCLAIMED_WAIT = 8.0
IDLE_TIMEOUT = 8.0


def closed_hours(now: datetime) -> tuple[str, str]:
    """A working day that starts two hours from now (UTC), and how the customer hears it."""
    opening = (now + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    end = "24:00" if opening.hour == 23 else f"{opening.hour + 1:02d}:00"
    return f"Mon-Sun {opening.hour:02d}:00-{end} UTC", opening.strftime("%A %H:%M") + " (UTC time)"


@pytest.fixture(scope="module")
def timed_stack(tmp_path_factory, model, channel_credentials, kb_uri):
    from tests.e2e.channels import SLACK_TEAM_CHANNEL

    tmp = tmp_path_factory.mktemp("timeouts")
    hours, opens = closed_hours(datetime.now(timezone.utc))
    env = {
        "SLACK_HANDOFF_CHANNEL": SLACK_TEAM_CHANNEL,
        "HANDOFF_UNCLAIMED_WAIT": f"{UNCLAIMED_WAIT:.0f}s",
        "HANDOFF_IDLE_TIMEOUT": f"{IDLE_TIMEOUT:.0f}",
        "HANDOFF_TIMER_INTERVAL": "1",
        "SUPPORT_HOURS": hours,
    }
    with running_stack(tmp, model, channel_credentials, kb_uri, env) as stack:
        stack.opens = opens
        stack.handoff_db = tmp / "handoffs.sqlite"  # beside FEEDBACK_DB
        yield stack


def record(stack) -> dict:
    db = sqlite3.connect(stack.handoff_db)
    db.row_factory = sqlite3.Row
    try:
        return dict(db.execute("SELECT * FROM handoffs ORDER BY opened_at DESC LIMIT 1").fetchone())
    finally:
        db.close()


def until(moment: datetime) -> None:
    """Let a stored deadline pass (a deadline, not a guess at how long something takes)."""
    time.sleep(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds()) + 0.5)


def test_deadlines_survive_restarts_of_both_servers(timed_stack, slack_api, twilio_api):
    # +1646554...: no other module's numbers (the Twilio stand-in is shared by the session;
    # +16465559xxx was also one of the +1646555xxxx numbers of the team-channel tests).
    sender = "+1646554" + f"{int(time.time()) % 10000:04d}"
    from tests.e2e.channels import sms_conversation

    conversation = sms_conversation(sender)
    to_customer = lambda r: r.params.get("To") == sender  # noqa: E731
    slack_api.users[AGENT] = {"display_name": "Ann"}

    assert text_sms(timed_stack, twilio_api, sender, "I want to talk to a human") == [
        variant("utter_handoff", "sms")
    ]
    root = notice_of(slack_api, conversation).reply["ts"]
    # The action server goes down before anyone claimed the handoff, and stays down past
    # the deadline: nothing is lost, the deadline is in the handoff's record.
    timed_stack.stop("actions")
    opened = datetime.fromisoformat(record(timed_stack)["opened_at"])
    until(opened + timedelta(seconds=UNCLAIMED_WAIT))
    assert not twilio_api.calls("Messages", to_customer)
    timed_stack.start_actions()
    (waiting,) = twilio_api.wait_for("Messages", where=to_customer, timeout=90)
    expected = variant("utter_handoff_waiting_closed", "sms").replace("{opens}", timed_stack.opens)
    assert waiting.params["Body"] == expected  # outside support hours: when someone will answer
    assert "outside support hours" in wait_in_thread(slack_api, root, "Nobody has claimed this yet")
    assert record(timed_stack)["waiting_at"]

    # An agent answers (which claims the handoff), then nobody writes; both servers restart.
    agent_writes(timed_stack, root, "Hi, Ann here. Checking your order now.")
    twilio_api.wait_for("Messages", 2, where=to_customer)
    claimed = record(timed_stack)
    assert claimed["status"] == "claimed" and claimed["agent"] == "Ann"
    timed_stack.stop()
    timed_stack.start_actions()
    timed_stack.start_rasa()
    expired = twilio_api.wait_for("Messages", 3, where=to_customer, timeout=120)[2]
    assert expired.params["Body"] == variant("utter_handoff_expired", "sms")
    assert "timed out" in wait_in_thread(slack_api, root, ":zzz:")  # the same thread, after the restart
    closed = record(timed_stack)
    assert closed["status"] == "resolved" and closed["outcome"] == "timed_out"
    assert closed["resolved_at"] >= (
        datetime.fromisoformat(claimed["last_activity_at"]) + timedelta(seconds=IDLE_TIMEOUT)
    ).isoformat(timespec="seconds")

    answer = text_sms(timed_stack, twilio_api, sender, "how long do refunds take?")
    assert answer and "refund" in " ".join(answer).lower()
    # One waiting notice and one hand-back, however many timer ticks and restarts there were.
    said = [r.params["Body"] for r in twilio_api.calls("Messages", to_customer)]
    assert said.count(expected) == 1 and said.count(expired.params["Body"]) == 1
    assert json.dumps(said).count("Ann:") == 1
