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


def test_telegram_handoff_goes_to_the_team_channel_not_the_customer(slack_api, telegram_api):
    handoff.register(team_notifier(slack_api))

    async def scenario():
        async with make_bot(TG_TOKEN, telegram_api.base_url) as bot:
            await TelegramOutput(bot, 42, "telegram:42").send_custom_json("u", HANDOFF)

    asyncio.run(scenario())
    assert telegram_api.messages() == []
    (post,) = slack_api.posts("C0TEAM")
    blocks = json.dumps(post.params["blocks"])
    assert "telegram:42" in post.params["text"] and "(telegram)" in blocks
    # Customer text is escaped for mrkdwn; already-escaped bot text is not escaped twice.
    assert "*Customer:* my &lt;thermostat&gt; &amp; me" in blocks
    assert "_Bot:_ Try this &amp; that" in blocks
    assert "release telegram:42" in blocks


def test_sms_handoff_gives_the_team_the_number_and_the_logs_only_the_conversation_id(
    slack_api, twilio_api, caplog
):
    handoff.register(team_notifier(slack_api))
    conversation = conversation_id(CUSTOMER, TWILIO_TOKEN)
    payload = {"handoff": {**HANDOFF["handoff"], "conversation_id": conversation, "channel": "sms"}}

    async def scenario():
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
        await client.http_client.session.close()

    with caplog.at_level(logging.DEBUG):
        asyncio.run(scenario())
    assert twilio_api.calls("Messages") == []
    (post,) = slack_api.posts("C0TEAM")
    assert f"Reply by SMS to: {CUSTOMER}" in json.dumps(post.params["blocks"])
    assert conversation in caplog.text and CUSTOMER not in caplog.text


def test_failing_team_channel_is_logged_and_the_turn_goes_on(slack_api, telegram_api, caplog):
    from tests.standins.http_standin import Failure

    slack_api.fail("chat.postMessage", *[Failure(500, {}, {"ok": False, "error": "fatal_error"})] * 2)
    handoff.register(team_notifier(slack_api))

    async def scenario():
        async with make_bot(TG_TOKEN, telegram_api.base_url) as bot:
            out = TelegramOutput(bot, 42, "telegram:42")
            await out.send_custom_json("u", HANDOFF)
            await out.send_text_message("u", "still here")

    asyncio.run(scenario())
    assert "telegram:42 could not reach the team channel" in caplog.text
    assert [m.params["text"] for m in telegram_api.messages()] == ["still here"]


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
