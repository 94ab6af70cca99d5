"""WhatsApp through Twilio end to end: signed webhooks (against the configured public URL)
into the real Rasa server and action server, answers through the Messages API in WhatsApp's
formatting, STOP honoured, media-only messages answered, numbers never in the logs."""

from __future__ import annotations

import itertools
import re
import sqlite3
import time
import xml.etree.ElementTree as ET

import pytest

from tests.e2e.channels import (
    TWILIO_SID,
    TWILIO_WHATSAPP_NUMBER,
    WHATSAPP_PUBLIC_URL,
    post,
    rasa_log,
    sms_conversation,
    twilio_form,
    user_events,
    whatsapp_webhook,
)
from tests.e2e.settled import stored_turn

QUESTION = "How do I factory reset my thermostat?"
ARTICLE = "https://help.nimbushome.example/articles/factory-reset-your-thermostat"
_numbers = itertools.count(int(time.time()) % 10000 * 100)
_sids = itertools.count(1)


def customer() -> str:
    return f"whatsapp:+1415888{next(_numbers) % 10000:04d}"


def conversation(address: str) -> str:
    return sms_conversation(address, "whatsapp")


def message(body: str, sender: str, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": f"SM{int(time.time()):010d}{next(_sids):022d}",  # SM + 32 hex digits
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": TWILIO_WHATSAPP_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Dana",
        "WaId": sender.removeprefix("whatsapp:+"),
        **extra,
    }


def said(reply) -> list[str]:
    """The messages the webhook's TwiML reply sends (WhatsApp answers come through the API)."""
    return [m.text or "" for m in ET.fromstring(reply.body).iter("Message")]


def sent_to(twilio_api, address: str, count: int = 1) -> list[str]:
    found = twilio_api.wait_for("Messages", count, timeout=90, where=lambda r: r.params.get("To") == address)
    assert all(r.params["From"] == TWILIO_WHATSAPP_NUMBER for r in found)
    return [r.params["Body"] for r in found]


def test_a_question_is_answered_in_whatsapp_formatting_through_the_api(channel_stack, twilio_api):
    sender = customer()
    params = message(QUESTION, sender)
    reply = whatsapp_webhook(channel_stack, twilio_api, params)
    assert reply.status == 200 and said(reply) == []  # acknowledged at once, answered by the API
    (text,) = sent_to(twilio_api, sender)
    assert ARTICLE in text and "*Sources*" in text  # bold is WhatsApp's single *
    assert re.search(r"\[\d+\]", text), text  # inline citations
    assert not re.search(r"\*\*|</?[a-z]+>|\]\(", text), text  # no Markdown bold, HTML or links
    assert text.endswith("Reply 1 if this helped, 2 if not.") and len(text) <= 1600
    user = user_events(channel_stack, conversation(sender))[-1]
    assert user["input_channel"] == "whatsapp" and user["message_id"] == params["MessageSid"]
    assert not [u for u in twilio_api.undelivered if u["to"] == sender]  # inside the window
    digits = sender.removeprefix("whatsapp:+")
    assert digits not in rasa_log(channel_stack)  # the number is never logged


def test_feedback_digit_after_an_answer_is_recorded_for_the_team(channel_stack, twilio_api):
    sender = customer()
    whatsapp_webhook(channel_stack, twilio_api, message(QUESTION, sender))
    sent_to(twilio_api, sender)
    assert whatsapp_webhook(channel_stack, twilio_api, message("1", sender)).status == 200
    stored_turn(channel_stack, conversation(sender), "/feedback_helpful")  # every action has run
    db = sqlite3.connect(channel_stack.env["FEEDBACK_DB"])
    try:
        rows = db.execute(
            "SELECT channel, verdict FROM answers WHERE conversation_id = ?", (conversation(sender),)
        ).fetchall()
    finally:
        db.close()
    assert rows == [("whatsapp", "helpful")]


def test_stop_means_silence_until_start(channel_stack, twilio_api):
    sender = customer()
    stop = whatsapp_webhook(channel_stack, twilio_api, message("STOP", sender))
    assert any("won't get more messages" in m for m in said(stop))
    quiet = whatsapp_webhook(channel_stack, twilio_api, message("hello?", sender))
    assert quiet.status == 200 and said(quiet) == []
    start = whatsapp_webhook(channel_stack, twilio_api, message("start", sender))
    assert any("subscribed again" in m for m in said(start))
    whatsapp_webhook(channel_stack, twilio_api, message("hello", sender))
    sent_to(twilio_api, sender)  # answered again after START
    # Nothing reached the dialogue while the customer had opted out.
    assert [u["text"] for u in user_events(channel_stack, conversation(sender))] == ["hello"]


def test_a_media_only_message_gets_a_polite_reply(channel_stack, twilio_api):
    sender = customer()
    photo = message(
        "", sender, NumMedia="1", MediaUrl0="https://api.twilio.com/media/1", MediaContentType0="image/jpeg"
    )
    reply = whatsapp_webhook(channel_stack, twilio_api, photo)
    assert reply.status == 200 and any("only read text" in m for m in said(reply))
    assert user_events(channel_stack, conversation(sender), timeout=0) == []


@pytest.mark.parametrize("case", ["bad_signature", "sms_url", "sms_sender"])
def test_forged_or_foreign_requests_are_refused(channel_stack, twilio_api, case):
    sender = "+14158880000" if case == "sms_sender" else customer()
    params = message("forged hello", sender)
    url = "https://bot.example.com/webhooks/sms/webhook" if case == "sms_url" else WHATSAPP_PUBLIC_URL
    body, headers = twilio_form(params, url=url)
    if case == "bad_signature":
        headers["X-Twilio-Signature"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    reply = post(f"{channel_stack.rasa_url}/webhooks/whatsapp/webhook", body, headers)
    assert reply.status == (400 if case == "sms_sender" else 403)
    assert "forged hello" not in rasa_log(channel_stack)
