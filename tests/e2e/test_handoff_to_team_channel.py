"""A customer on SMS or Telegram asks for a person: the support team hears about it in its
Slack channel (through the Slack connector's client, at the Slack API stand-in), the
customer sees only the confirmation, and the bot keeps quiet until an agent hands the
conversation back through Rasa's HTTP API (as actions/handoff.py documents)."""

from __future__ import annotations

import itertools
import json
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET

import yaml

from scripts.stack import ROOT
from tests.e2e.channels import (
    SLACK_TEAM_CHANNEL,
    TWILIO_NUMBER,
    TWILIO_SID,
    sms_conversation,
    sms_webhook,
    telegram_update,
)
from tests.standins.telegram_api import BOT_ID as TELEGRAM_BOT_ID

RESPONSES = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())["responses"]
_n = itertools.count(int(time.time()) % 100000 * 100 + 50)


def variant(name: str, channel: str | None = None) -> str:
    options = RESPONSES[name]
    return next((o["text"] for o in options if o.get("channel") == channel), options[0]["text"])


def for_team(conversation: str):
    return lambda r: r.params.get("channel") == SLACK_TEAM_CHANNEL and conversation in json.dumps(r.params)


def hand_back(stack, conversation: str) -> None:
    events = [
        {"event": "slot", "name": "handoff_active", "value": False},
        {"event": "slot", "name": "unanswered_count", "value": 0},
    ]
    request = urllib.request.Request(
        f"{stack.rasa_url}/conversations/{conversation}/tracker/events?token={stack.api_token}",
        json.dumps(events).encode(),
        {"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=30).read()


def text_sms(stack, twilio_api, sender: str, body: str, expect_reply: bool = True) -> list[str]:
    """What the customer receives for one text: TwiML messages, or Messages API sends."""
    before = len(twilio_api.calls("Messages", lambda r: r.params.get("To") == sender))
    params = {
        "MessageSid": f"SM0a0d0ff{next(_n):025d}",
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": TWILIO_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    reply = sms_webhook(stack, params)
    assert reply.status == 200
    bodies = [m.text or "" for m in ET.fromstring(reply.body).iter("Message")]
    if not bodies and expect_reply:
        sent = twilio_api.wait_for(
            "Messages", before + 1, where=lambda r: r.params.get("To") == sender, timeout=90
        )
        bodies = [m.params["Body"] for m in sent[before:]]
    return bodies


def test_sms_handoff_reaches_the_slack_team_channel_and_silences_the_bot(
    channel_stack, slack_api, twilio_api
):
    sender = f"+1646555{next(_n) % 10000:04d}"
    conversation = sms_conversation(sender)
    assert text_sms(channel_stack, twilio_api, sender, "hi") == [variant("utter_greet", "sms")]
    confirmed = text_sms(channel_stack, twilio_api, sender, "I want to talk to a human")
    assert confirmed == [variant("utter_handoff", "sms")]  # the payload itself is never shown

    notice, contact = slack_api.wait_for("chat.postMessage", 2, where=for_team(conversation))
    shown = json.dumps(notice.params["blocks"])
    assert "(sms)" in shown and "the customer asked for a person" in shown
    assert "*Customer:* hi" in shown and "*Customer:* I want to talk to a human" in shown
    assert f"release {conversation}" in shown
    assert notice.headers["authorization"] == "Bearer xoxb-e2e-bot-token"  # the Slack channel's client
    # The agent replies by SMS, so the team needs the number: only the SMS connector has it,
    # and it adds it in the notice's thread.
    assert sender not in json.dumps(notice.params) and sender in contact.params["text"]
    assert contact.params.get("thread_ts")  # a reply in the notice's thread

    # A person has the conversation now: whatever the customer writes, the bot says nothing.
    for text in ("hello? anyone there?", "how do I reset my thermostat"):
        assert text_sms(channel_stack, twilio_api, sender, text, expect_reply=False) == []
    time.sleep(2)
    assert not twilio_api.calls("Messages", lambda r: r.params.get("To") == sender)
    assert len(slack_api.calls("chat.postMessage", for_team(conversation))) == 2

    hand_back(channel_stack, conversation)
    assert text_sms(channel_stack, twilio_api, sender, "hello") == [variant("utter_greet", "sms")]


def test_telegram_talk_to_a_person_button_notifies_the_team(channel_stack, slack_api, telegram_api):
    chat = 6200 + next(_n) % 1000
    conversation = f"telegram:{chat}"
    callback_id = f"cbq-human-{chat}"
    press = {
        "update_id": next(_n),
        "callback_query": {
            "id": callback_id,
            "chat_instance": "ci",
            "data": "/request_human",
            "from": {"id": chat, "is_bot": False, "first_name": "Ann"},
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": chat, "type": "private"},
                "from": {"id": TELEGRAM_BOT_ID, "is_bot": True, "first_name": "Nimbus"},
            },
        },
    }
    assert telegram_update(channel_stack, press).status == 200
    pressed = lambda r: r.params.get("callback_query_id") == callback_id  # noqa: E731
    telegram_api.wait_for("answerCallbackQuery", where=pressed)
    (confirmation,) = telegram_api.wait_for("sendMessage", where=lambda r: int(r.params["chat_id"]) == chat)
    assert confirmation.params["text"] == variant("utter_handoff", "telegram").replace("&", "&amp;")
    (notice,) = slack_api.wait_for("chat.postMessage", where=for_team(conversation))
    assert "pressed *Talk to a person*" in json.dumps(notice.params["blocks"])

    message = {
        "update_id": next(_n),
        "message": {
            "message_id": next(_n),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Ann"},
            "text": "hello, is someone coming?",
        },
    }
    assert telegram_update(channel_stack, message).status == 200
    time.sleep(3)
    assert len(telegram_api.calls("sendMessage", lambda r: int(r.params["chat_id"]) == chat)) == 1


def test_when_slack_refuses_the_notice_the_customer_gets_the_contact_line_and_answers(
    channel_stack, slack_api, twilio_api
):
    from tests.standins.http_standin import Failure

    sender = f"+1646556{next(_n) % 10000:04d}"
    conversation = sms_conversation(sender)
    # Every attempt of the connector's retries fails: Slack is down.
    slack_api.fail("chat.postMessage", *[Failure(500, {}, {"ok": False, "error": "fatal_error"})] * 4)
    replies = text_sms(channel_stack, twilio_api, sender, "I want to talk to a human")
    (told,) = replies
    assert told.startswith("Sorry, I couldn't reach our support team just now.")
    assert "contact-support" in told  # the default contact line: the contact article
    assert len(slack_api.calls("chat.postMessage", for_team(conversation))) == 4  # all refused
    answer = text_sms(channel_stack, twilio_api, sender, "how long do refunds take?")
    assert answer and "refund" in " ".join(answer).lower()


def test_the_handoff_route_takes_only_the_action_servers_authenticated_notices(channel_stack, slack_api):
    url = f"{channel_stack.rasa_url}/webhooks/slack/handoff"
    forged = {"event": "handoff_requested", "conversation_id": "forged", "transcript": []}
    notice = json.dumps(forged).encode()

    def post(body: bytes, token: str | None) -> int:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(url, body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert post(notice, None) == 401
    assert post(notice, "wrong-token") == 401
    assert post(b'{"event": "handoff_requested"}', channel_stack.api_token) == 400
    assert post(b"[1]", channel_stack.api_token) == 400
    assert not slack_api.calls("chat.postMessage", lambda r: "forged" in json.dumps(r.params))
