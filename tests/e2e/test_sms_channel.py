"""SMS end to end: Twilio-signed webhooks (against the configured public URL) into the real
Rasa server and action server; TwiML replies, Messages API sends, and opt-outs."""

from __future__ import annotations

import itertools
import time
import xml.etree.ElementTree as ET

import pytest
import yaml

from scripts.stack import ROOT
from tests.e2e.channels import (
    SMS_PUBLIC_URL,
    TWILIO_NUMBER,
    post,
    rasa_log,
    sms_conversation,
    sms_webhook,
    twilio_form,
    user_events,
)

_numbers = itertools.count(5550100)
SMS_GREETING = next(
    r["text"]
    for r in yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())["responses"]["utter_greet"]
    if r.get("channel") == "sms"
)


def said(reply) -> list[str]:
    """The messages a TwiML reply sends the customer."""
    return [m.text or "" for m in ET.fromstring(reply.body).iter("Message")]


_sids = itertools.count(1)


def inbound(body: str, sender: str, **extra) -> dict[str, str]:
    sid = f"SM{int(time.time())}{next(_sids):022d}"  # Twilio's format: SM + 32 hex digits
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "e2e0" * 8,
        "From": sender,
        "To": TWILIO_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "FromCountry": "US",
        **extra,
    }


def number() -> str:
    return f"+1415{next(_numbers):07d}"


def test_quick_answer_comes_back_as_twiml(channel_stack, twilio_api):
    sender = number()
    params = inbound("hello", sender)
    reply = sms_webhook(channel_stack, params)
    assert reply.status == 200 and "xml" in reply.content_type
    assert said(reply) == [SMS_GREETING]  # the SMS variant of the greeting
    assert not twilio_api.calls("Messages", lambda r: r.params.get("To") == sender)
    user = user_events(channel_stack, sms_conversation(sender))[-1]
    assert user["input_channel"] == "sms" and user["message_id"] == params["MessageSid"]
    assert sender not in rasa_log(channel_stack)  # phone numbers are masked in logs


def test_slow_answer_gets_empty_twiml_then_messages_api(channel_stack, twilio_api, openai_latency_standin):
    sender = number()
    openai_latency_standin.latency = 5.0
    try:
        reply = sms_webhook(channel_stack, inbound("How long does shipping take?", sender))
        assert reply.status == 200 and b"<Message>" not in reply.body
        assert reply.seconds < 5.0  # answered within the configured reply window, far below Twilio's 15 s
        sent = twilio_api.wait_for("Messages", where=lambda r: r.params.get("To") == sender, timeout=90)
        assert all(m.params["From"] == TWILIO_NUMBER and len(m.params["Body"]) <= 1600 for m in sent)
    finally:
        openai_latency_standin.latency = 0.0


def test_same_message_sid_three_times_is_answered_once(channel_stack, twilio_api):
    sender = number()
    params = inbound("hi", sender)
    replies = [sms_webhook(channel_stack, params) for _ in range(3)]
    assert [r.status for r in replies] == [200, 200, 200]
    assert sum(r.body.count(b"<Message>") for r in replies) == 1
    users = user_events(channel_stack, sms_conversation(sender))
    assert len(users) == 1


def test_stop_means_silence_until_start(channel_stack, twilio_api):
    sender = number()
    stop = sms_webhook(channel_stack, inbound("STOP", sender))
    assert b"unsubscribed" in stop.body
    quiet = sms_webhook(channel_stack, inbound("hello?", sender))
    assert quiet.status == 200 and b"<Message>" not in quiet.body
    start = sms_webhook(channel_stack, inbound("start", sender))
    assert b"subscribed again" in start.body
    assert said(sms_webhook(channel_stack, inbound("hello", sender))) == [SMS_GREETING]


def test_help_and_mms_without_text(channel_stack):
    sender = number()
    assert b"Reply STOP" in sms_webhook(channel_stack, inbound("HELP", sender)).body
    mms = inbound(
        "", sender, NumMedia="1", MediaUrl0="https://api.twilio.com/media/1", MediaContentType0="image/jpeg"
    )
    assert b"only read text" in sms_webhook(channel_stack, mms).body


@pytest.mark.parametrize("case", ["bad_signature", "missing_header", "wrong_url", "wrong_token"])
def test_forged_requests_are_rejected(channel_stack, twilio_api, case):
    sender = number()
    params = inbound("forged hello", sender)
    body, headers = twilio_form(
        params,
        **(
            {"url": "https://evil.example/webhooks/sms/webhook"}
            if case == "wrong_url"
            else {"token": "nope"}
            if case == "wrong_token"
            else {}
        ),
    )
    if case == "bad_signature":
        headers["X-Twilio-Signature"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAA="
    elif case == "missing_header":
        del headers["X-Twilio-Signature"]
    reply = post(f"{channel_stack.rasa_url}/webhooks/sms/webhook", body, headers)
    assert reply.status in (401, 403)
    assert "forged hello" not in rasa_log(channel_stack)


@pytest.mark.parametrize(
    ("params", "content_type", "raw", "expected"),
    [
        ({"Body": "no sid"}, None, None, 400),
        (None, "application/json", b'{"Body": "json"}', 415),
        (None, None, b"Body=%FF%FE&MessageSid=SM1&From=%2B1", 400),
        (None, None, b"Body=" + b"x" * 100_000, 413),
    ],
    ids=["no-sid", "json", "not-utf8", "oversized"],
)
def test_malformed_bodies_get_4xx(channel_stack, twilio_api, params, content_type, raw, expected):
    import urllib.parse

    from twilio.request_validator import RequestValidator

    from tests.e2e.channels import TWILIO_TOKEN

    if raw is None:
        raw = urllib.parse.urlencode(params).encode()
    signed = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    headers = {
        "Content-Type": content_type or "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(SMS_PUBLIC_URL, signed),
    }
    reply = post(f"{channel_stack.rasa_url}/webhooks/sms/webhook", raw, headers)
    assert reply.status == expected


def test_phone_numbers_never_reach_the_rasa_or_action_server_logs(channel_stack, twilio_api, slack_api):
    """The action server logs conversation ids from another process, beyond the connectors'
    masking: the SMS conversation id must not be the number. Checked over a conversation
    that touches every path that logs: a question, a retry, opt-out and back, a handoff."""
    sender = number()
    conversation = sms_conversation(sender)
    question = inbound("How do I factory reset my thermostat?", sender)
    for params in (
        inbound("hi", sender),
        question,
        question,  # Twilio's retry of the same MessageSid
        inbound("STOP", sender),
        inbound("START", sender),
        inbound("I want to talk to a human", sender),
    ):
        assert sms_webhook(channel_stack, params).status == 200
    slack_api.wait_for("chat.postMessage", where=lambda r: conversation in str(r.params.get("text")))
    time.sleep(1)
    logs = {
        name: (channel_stack.log_dir / f"{name}.log").read_text(errors="replace")
        for name in ("rasa", "actions")
    }
    assert conversation in logs["actions"]  # the action server did log this conversation...
    digits = sender.lstrip("+")
    for name, text in logs.items():
        for form in (sender, digits, digits[1:]):  # ...but never the number, in any form
            assert form not in text, f"{form} in {name}.log"
