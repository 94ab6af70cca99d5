"""The action server's `handoff` and `feedback_ack` payloads: the team is told through the
Slack channel's client, the customer never sees either payload, Telegram shows the
feedback acknowledgement as the button's toast; SMS conversations are keyed by a hash."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from connectors.common import handoff
from connectors.slack import SlackInput
from connectors.slack.channel import web_client
from connectors.slack.output import SlackOutput
from connectors.slack.team import SlackTeamNotifier
from connectors.sms import SmsInput
from connectors.sms.identity import conversation_id
from connectors.sms.optout import OptOutStore
from connectors.sms.output import SmsOutput, make_client
from connectors.telegram import TelegramInput
from connectors.telegram.channel import make_bot
from connectors.telegram.output import TelegramOutput
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn
from tests.standins.twilio_api import TwilioStandIn

SLACK_TOKEN = "xoxb-test-token"
TG_TOKEN = "123456:TEST-token"
SID = "AC" + "0" * 31 + "1"
TWILIO_TOKEN = "twilio-auth-token-1"
CUSTOMER = "+15551234567"

HANDOFF = {
    "handoff": {
        "conversation_id": "telegram:42",
        "channel": "telegram",
        "reason": "customer_asked",
        "transcript": [
            {"from": "customer", "text": "my <thermostat> & me", "time": None},
            {"from": "bot", "text": "Try this &amp; that", "time": None},
            {"from": "customer", "text": "I want a human", "time": None},
        ],
    }
}


@pytest.fixture
def slack_api():
    server = SlackStandIn(token=SLACK_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def telegram_api():
    server = TelegramStandIn(token=TG_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def twilio_api():
    server = TwilioStandIn(SID, TWILIO_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_notifier():
    handoff.register(None)
    yield
    handoff.register(None)


def team_notifier(slack_api) -> SlackTeamNotifier:
    clients: list[AsyncWebClient] = []

    def client() -> AsyncWebClient:
        if not clients:
            clients.append(web_client(SLACK_TOKEN, slack_api.base_url))
        return clients[0]

    return SlackTeamNotifier(client, "C0TEAM", attempts=2)


def test_slack_channel_with_handoff_channel_registers_the_team_notifier(monkeypatch):
    SlackInput.from_credentials({"bot_token": SLACK_TOKEN, "signing_secret": "s" * 10})
    assert handoff.notifier() is None
    monkeypatch.setenv("SLACK_HANDOFF_CHANNEL", "C0ENV")
    SlackInput.from_credentials({"bot_token": SLACK_TOKEN, "signing_secret": "s" * 10})
    assert handoff.notifier().channel == "C0ENV"
    SlackInput.from_credentials(
        {"bot_token": SLACK_TOKEN, "signing_secret": "s" * 10, "handoff_channel": "C0YML"}
    )
    assert handoff.notifier().channel == "C0YML"


def test_the_notice_reaches_the_team_channel_with_the_escaped_transcript(slack_api):
    handoff.register(team_notifier(slack_api))
    notice = {"event": "handoff_requested", **HANDOFF["handoff"]}
    assert asyncio.run(handoff.announce(handoff.parse_notice(notice))) is True
    (post,) = slack_api.posts("C0TEAM")
    blocks = json.dumps(post.params["blocks"])
    assert "telegram:42" in post.params["text"] and "(telegram)" in blocks
    # Customer text is escaped for mrkdwn; already-escaped bot text is not escaped twice.
    assert "*Customer:* my &lt;thermostat&gt; &amp; me" in blocks
    assert "_Bot:_ Try this &amp; that" in blocks
    assert "release telegram:42" in blocks


@pytest.mark.parametrize("body", [{}, {"conversation_id": ""}, {"conversation_id": "c", "transcript": "x"}])
def test_a_notice_without_a_conversation_or_with_a_bad_transcript_is_refused(body):
    with pytest.raises(ValueError):
        handoff.parse_notice(body)


def test_the_customer_never_sees_the_handoff_payload_and_nothing_more_is_posted(slack_api, telegram_api):
    handoff.register(team_notifier(slack_api))
    payload = {"handoff": {**HANDOFF["handoff"], "delivered_to": ["slack"]}}

    async def scenario():
        async with make_bot(TG_TOKEN, telegram_api.base_url) as bot:
            await TelegramOutput(bot, 42, "telegram:42").send_custom_json("u", payload)

    asyncio.run(scenario())
    assert telegram_api.messages() == []
    assert slack_api.posts() == []  # the action server already told the team


def test_sms_handoff_gives_the_team_the_number_in_the_notice_thread_and_logs_only_the_id(
    slack_api, twilio_api, caplog
):
    handoff.register(team_notifier(slack_api))
    conversation = conversation_id(CUSTOMER, TWILIO_TOKEN)
    notice = {**HANDOFF["handoff"], "conversation_id": conversation, "channel": "sms"}
    payload = {"handoff": {"conversation_id": conversation, "channel": "sms", "delivered_to": ["slack"]}}

    async def scenario():
        assert await handoff.announce(handoff.parse_notice(notice))
        client = make_client(SID, TWILIO_TOKEN, twilio_api.url)
        out = SmsOutput(
            client,
            "+15550001111",
            CUSTOMER,
            OptOutStore(":memory:"),
            collecting=False,
            conversation=conversation,
        )
        await out.send_custom_json("u", payload)
        # Told through the webhook only: there is no Slack notice to add the number to.
        await out.send_custom_json("u", {"handoff": {**payload["handoff"], "delivered_to": ["webhook"]}})
        await client.http_client.session.close()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    assert twilio_api.calls("Messages") == []
    notice_post, contact_post = slack_api.posts("C0TEAM")
    assert CUSTOMER not in json.dumps(notice_post.params)
    assert f"reply by SMS to: {CUSTOMER}" in contact_post.params["text"]
    assert contact_post.params["thread_ts"] == "1700000000.000001"
    assert conversation in caplog.text and CUSTOMER not in caplog.text


def test_failing_team_channel_is_logged_and_reported_as_not_delivered(slack_api, caplog):
    from tests.standins.http_standin import Failure

    slack_api.fail("chat.postMessage", *[Failure(500, {}, {"ok": False, "error": "fatal_error"})] * 2)
    handoff.register(team_notifier(slack_api))
    assert asyncio.run(handoff.announce(handoff.parse_notice(HANDOFF["handoff"]))) is False
    assert "telegram:42 could not reach the team channel" in caplog.text


def test_rasa_side_start_up_line_names_the_missing_destination(monkeypatch, slack_api):
    for name in ("HANDOFF_WEBHOOK_URL", "SLACK_HANDOFF_CHANNEL", "RASA_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    ok, line = handoff.describe_destinations()
    assert not ok and "handoff has no destination" in line
    handoff.register(team_notifier(slack_api))
    ok, line = handoff.describe_destinations()
    assert not ok and "SLACK_HANDOFF_CHANNEL is not" in line  # the action server would not know
    monkeypatch.setenv("SLACK_HANDOFF_CHANNEL", "C0TEAM")
    ok, line = handoff.describe_destinations()
    assert not ok and "RASA_API_TOKEN" in line  # the action server could not use the route
    monkeypatch.setenv("RASA_API_TOKEN", "t")
    line = "handoff: the team is told through the Slack team channel"
    assert handoff.describe_destinations() == (True, line)


def test_without_a_team_channel_the_handoff_payload_is_still_never_shown(slack_api):
    async def scenario():
        client = AsyncWebClient(token=SLACK_TOKEN, base_url=slack_api.base_url, retry_handlers=[])
        out = SlackOutput(client, "C1", "100.1", "slack:T1:C1:100.1")
        await out.send_custom_json("u", HANDOFF)
        await out.send_custom_json(
            "u", {"feedback_ack": {"ref": "r", "verdict": "helpful", "text": "Thanks!"}}
        )

    asyncio.run(scenario())
    assert slack_api.requests == []


def callback_update(data: str) -> dict:
    return {
        "update_id": 77,
        "callback_query": {
            "id": "cbq-1",
            "chat_instance": "ci",
            "data": data,
            "from": {"id": 9, "is_bot": False, "first_name": "Ann"},
            "message": {"message_id": 3, "date": 1, "chat": {"id": 42, "type": "private"}},
        },
    }


def press(api: TelegramStandIn, data: str, turn) -> None:
    async def scenario():
        channel = TelegramInput(TG_TOKEN, "secret", base_url=api.base_url)
        await channel.handle_update(callback_update(data), turn)
        await channel.runner.drain(10)
        await channel.bot.shutdown()

    asyncio.run(scenario())


def test_feedback_ack_becomes_the_buttons_toast_and_no_message(telegram_api):
    async def turn(message):
        ack = {"feedback_ack": {"ref": "r1", "verdict": "helpful", "text": "Thanks for your feedback!"}}
        await message.output_channel.send_custom_json(message.sender_id, ack)

    press(telegram_api, '/feedback_helpful{"ref":"r1"}', turn)
    (answered,) = telegram_api.calls("answerCallbackQuery")
    assert answered.params["callback_query_id"] == "cbq-1"
    assert answered.params["text"] == "Thanks for your feedback!"
    assert telegram_api.messages() == []


def test_press_whose_turn_says_nothing_is_still_answered(telegram_api):
    async def turn(message):
        return None

    press(telegram_api, "/thanks", turn)
    (answered,) = telegram_api.calls("answerCallbackQuery")
    assert "text" not in answered.params


def test_slow_turn_gets_its_press_answered_first_and_a_late_ack_is_dropped(telegram_api, monkeypatch):
    monkeypatch.setattr("connectors.telegram.channel.CALLBACK_ANSWER_WITHIN", 0.2)

    async def turn(message):
        await asyncio.sleep(0.6)
        ack = {"feedback_ack": {"ref": "r1", "verdict": "helpful", "text": "Thanks!"}}
        await message.output_channel.send_custom_json(message.sender_id, ack)
        await message.output_channel.send_text_message(message.sender_id, "answer")

    press(telegram_api, "/something_slow", turn)
    (answered,) = telegram_api.calls("answerCallbackQuery")
    (sent,) = telegram_api.messages()
    assert "text" not in answered.params and answered.at < sent.at


def test_sms_conversation_id_is_stable_keyed_and_not_the_number():
    first = conversation_id(CUSTOMER, "key-a")
    assert first == conversation_id("+1 555 123 4567", "key-a")
    assert first != conversation_id(CUSTOMER, "key-b") and first != conversation_id("+15551234568", "key-a")
    assert "5551234567" not in first and first.startswith("sms:")


def test_sms_turn_uses_the_hashed_id_and_replies_to_the_real_number(twilio_api):
    received = []

    async def on_new_message(message):
        received.append(message)
        await message.output_channel.send_text_message(message.sender_id, "hi back")

    async def scenario():
        channel = SmsInput.from_credentials(
            {
                "account_sid": SID,
                "auth_token": TWILIO_TOKEN,
                "phone_number": "+15550001111",
                "api_base_url": twilio_api.url,
                "optout_db": ":memory:",
                "dedupe_db": "memory",
            }
        )
        params = {
            "MessageSid": "SM" + "9" * 32,
            "AccountSid": SID,
            "From": CUSTOMER,
            "To": "+15550001111",
            "Body": "hi",
            "NumMedia": "0",
        }
        reply = await channel.handle(params, on_new_message)
        return reply.body.decode()

    body = asyncio.run(scenario())
    assert received[0].sender_id == conversation_id(CUSTOMER, TWILIO_TOKEN)
    assert "<Message>hi back</Message>" in body
