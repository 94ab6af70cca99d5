"""The connectors' side of the agent desk: which team-channel events are an agent's reply,
the thread each step of a handoff lands in, the SMS number kept encrypted at rest, and
each channel reaching a conversation by its id (Rasa's `output_channel=latest`)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from connectors.common import handoff
from connectors.slack import SlackInput
from connectors.slack import desk as desk_module
from connectors.sms import SmsInput
from connectors.telegram import TelegramInput
from connectors.twilio.numbers import NumberMap
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn
from tests.standins.twilio_api import TwilioStandIn

TEAM = "C0TEAM"
SID = "AC" + "0" * 31 + "1"
TWILIO_TOKEN = "twilio-auth-token-1"
CUSTOMER = "+15551234567"


@pytest.fixture(autouse=True)
def no_notifier():
    handoff.register(None)
    yield
    handoff.register(None)


@pytest.fixture
def slack_api():
    server = SlackStandIn(token="xoxb-test-token").start()
    yield server
    server.stop()


def team_event(text: str, thread_ts: str | None, event_id: str, **extra) -> dict:
    event = {"type": "message", "channel": TEAM, "user": "U0AGENT", "text": text, "ts": "200.1", **extra}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {"type": "event_callback", "team_id": "T1", "event_id": event_id, "event": event}


def test_only_a_persons_reply_in_a_handoff_thread_of_the_team_channel_goes_to_the_customer(
    slack_api, tmp_path, monkeypatch
):
    triggered: list[tuple[str, str, dict]] = []

    async def trigger(conversation, intent, entities):
        triggered.append((conversation, intent, entities))
        return True

    monkeypatch.setattr(desk_module, "trigger", trigger)
    slack_api.users["U0AGENT"] = {"display_name": "Ann"}
    channel = SlackInput(
        "xoxb-test-token",
        "s" * 12,
        api_base_url=slack_api.base_url,
        handoff_channel=TEAM,
        desk_db=str(tmp_path / "d"),
    )
    answered: list[str] = []

    async def on_new_message(message):
        answered.append(message.text)

    async def scenario():
        notice = handoff.Handoff("telegram:42", "telegram", "customer_asked", [], handoff_id="h1")
        assert await handoff.announce(notice)
        root = slack_api.posts(TEAM)[0].reply["ts"]
        events = [
            team_event("from a bot", root, "E1", bot_id="B1"),
            {
                **team_event("as the bot user", root, "E0", user="UBOT"),
                "authorizations": [{"user_id": "UBOT"}],
            },
            team_event("an edit", root, "E2", subtype="message_changed"),
            team_event("outside any thread", None, "E3"),
            team_event("another thread", "99.9", "E4"),
            {
                **team_event("other channel", root, "E5"),
                "event": {**team_event("x", root, "E5")["event"], "channel": "C0"},
            },
            team_event("<@UBOT> in the thread", root, "E6", type="app_mention"),
            team_event("Hi *there*", root, "E7"),
            team_event("Hi *there*", root, "E7"),  # Slack's retry
        ]
        for envelope in events:
            await channel.handle_envelope(envelope, on_new_message)
        await channel.runner.drain()
        await channel.after_drain()

    asyncio.run(scenario())
    assert triggered == [
        ("telegram:42", "EXTERNAL_agent_message", {"agent": "Ann", "agent_text": "Hi *there*"})
    ]
    assert answered == []  # the bot never answers what agents write in a handoff thread


def test_each_step_lands_in_the_handoffs_thread_which_survives_a_restart(slack_api, tmp_path):
    db = str(tmp_path / "desk.sqlite")

    async def scenario(step: dict | None) -> None:
        channel = SlackInput(
            "xoxb-test-token", "s" * 12, api_base_url=slack_api.base_url, handoff_channel=TEAM, desk_db=db
        )
        if step is None:
            assert await handoff.announce(handoff.Handoff("sms:ab", "sms", "button", [], handoff_id="h2"))
        else:
            assert await handoff.relay(step)
        await channel.after_drain()

    asyncio.run(scenario(None))
    root = slack_api.posts(TEAM)[0].reply["ts"]
    for step in (
        {"event": "customer_message", "handoff_id": "h2", "conversation_id": "sms:ab", "text": "a <b> & c"},
        {"event": "handoff_claimed", "handoff_id": "h2", "conversation_id": "sms:ab", "agent": "Ann"},
        {"event": "handoff_resolved", "handoff_id": "h2", "conversation_id": "sms:ab", "agent": "Ann"},
    ):
        asyncio.run(scenario(step))  # a new channel object each time: as after a restart
    posts = slack_api.posts(TEAM)[1:]
    assert all(p.params["thread_ts"] == root for p in posts)
    assert [p.params["text"] for p in posts] == [
        "*Customer:* a &lt;b&gt; &amp; c",
        ":raising_hand: *Ann* took this conversation.",
        ":white_check_mark: Resolved by *Ann*: the bot answers again. The customer was told.",
    ]
    (status,) = sqlite3.connect(db).execute("SELECT status FROM threads").fetchone()
    assert status == "closed"


def test_the_number_is_encrypted_at_rest_and_unreadable_with_another_key(tmp_path, caplog):
    path = str(tmp_path / "numbers.sqlite")
    NumberMap(path, "key-one").remember("sms:abc", CUSTOMER)
    assert CUSTOMER.encode() not in (tmp_path / "numbers.sqlite").read_bytes()
    assert NumberMap(path, "key-one").number("sms:abc") == CUSTOMER
    assert NumberMap(path, "key-two").number("sms:abc") is None
    assert CUSTOMER not in caplog.text


def test_channels_reach_a_conversation_by_its_id(tmp_path, slack_api):
    telegram_api = TelegramStandIn(token="123456:TEST-token").start()
    twilio_api = TwilioStandIn(SID, TWILIO_TOKEN).start()
    try:
        telegram = TelegramInput("123456:TEST-token", "secret-1", base_url=telegram_api.base_url)
        sms = SmsInput.from_credentials(
            {
                "account_sid": SID,
                "auth_token": TWILIO_TOKEN,
                "phone_number": "+15550000000",
                "api_base_url": twilio_api.url,
                "number_map_db": str(tmp_path / "numbers.sqlite"),
            }
        )
        slack = SlackInput("xoxb-test-token", "s" * 12, api_base_url=slack_api.base_url)
        assert sms.output_for_conversation("sms:unknown") is None
        assert telegram.output_for_conversation("slack:T:C") is None
        sms.numbers.remember("sms:abc", CUSTOMER)

        async def scenario():
            await telegram.get_output_channel().send_response("telegram:42:7", {"text": "hi <you>"})
            await sms.get_output_channel().send_response("sms:abc", {"text": "hi by SMS"})
            await sms.get_output_channel().send_response("sms:unknown", {"text": "lost"})
            await slack.get_output_channel().send_response("slack:T1:C9:100.5", {"text": "hi in Slack"})
            await telegram.after_drain()
            await slack.after_drain()
            await sms.after_drain()

        asyncio.run(scenario())
        (sent,) = telegram_api.messages(42)
        assert sent.params["text"] == "hi &lt;you&gt;" and int(sent.params["message_thread_id"]) == 7
        (texted,) = twilio_api.calls("Messages")
        assert texted.params["To"] == CUSTOMER and texted.params["Body"] == "hi by SMS"
        (posted,) = slack_api.posts("C9")
        assert posted.params["thread_ts"] == "100.5" and posted.params["text"] == "hi in Slack"
    finally:
        telegram_api.stop()
        twilio_api.stop()
