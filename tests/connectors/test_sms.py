"""SMS (Twilio): signature checks against Twilio's published example, keywords, and sending."""

from __future__ import annotations

import asyncio
import hashlib

import pytest
from twilio.request_validator import RequestValidator

from connectors.common.credentials import ChannelConfigError
from connectors.sms import SmsInput
from connectors.sms.optout import OptOutStore
from connectors.sms.output import SmsOutput, make_client
from tests.standins.http_standin import Failure
from tests.standins.twilio_api import TwilioStandIn

SID = "AC" + "0" * 31 + "1"
TOKEN = "twilio-auth-token-1"

# Twilio's documented example ("Validating requests are coming from Twilio").
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}
DOC_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilio_documented_signature_example_verifies():
    validator = RequestValidator("12345")
    assert validator.compute_signature(DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert validator.validate(DOC_URL, DOC_PARAMS, DOC_SIGNATURE)
    assert not validator.validate(DOC_URL, {**DOC_PARAMS, "Digits": "9999"}, DOC_SIGNATURE)
    assert not validator.validate("https://mycompany.com/other.php?foo=1&bar=2", DOC_PARAMS, DOC_SIGNATURE)


def test_missing_credentials_name_the_variable():
    with pytest.raises(ChannelConfigError, match="TWILIO_AUTH_TOKEN"):
        SmsInput.from_credentials({"account_sid": SID, "auth_token": "", "phone_number": "+15550001111"})
    with pytest.raises(ChannelConfigError, match="TWILIO_PHONE_NUMBER"):
        SmsInput.from_credentials({"account_sid": SID, "auth_token": "x"})


@pytest.fixture
def twilio_api():
    server = TwilioStandIn(SID, TOKEN).start()
    yield server
    server.stop()


def run_output(api, action, optouts=None):
    async def scenario():
        client = make_client(SID, TOKEN, api.url)
        out = SmsOutput(
            client, "+15550001111", "+15551234567", optouts or OptOutStore(":memory:"), collecting=False
        )
        await action(out)
        await client.http_client.session.close()

    asyncio.run(scenario())


def test_long_reply_is_split_under_1600(twilio_api):
    text = "\n\n".join(f"Paragraph {i}. " + "words " * 100 for i in range(8))
    run_output(twilio_api, lambda out: out.send_text_message("u", text))
    sent = twilio_api.calls("Messages")
    assert len(sent) >= 2 and all(len(m.params["Body"]) <= 1600 for m in sent)
    assert sent[0].params["To"] == "+15551234567" and sent[0].params["From"] == "+15550001111"


def test_sms_payload_is_sent_as_is_and_other_keys_ignored(twilio_api):
    payload = {
        "sms": {"text": "Reset: hold the dial 10 s. More: nimbus.example/r"},
        "slack": {"text": "x"},
        "handoff": {"queue": "support"},
    }
    run_output(twilio_api, lambda out: out.send_custom_json("u", payload))
    run_output(twilio_api, lambda out: out.send_custom_json("u", {"handoff": {}}))
    assert [m.params["Body"] for m in twilio_api.calls("Messages")] == [payload["sms"]["text"]]


def test_rate_limit_is_retried_after_retry_after(twilio_api):
    twilio_api.fail(
        "Messages",
        Failure(429, {"Retry-After": "1"}, {"code": 20429, "message": "Too Many Requests", "status": 429}),
    )
    run_output(twilio_api, lambda out: out.send_text_message("u", "hello"))
    first, second = twilio_api.calls("Messages")
    assert second.at - first.at >= 0.95


def test_opted_out_numbers_are_never_messaged(twilio_api):
    optouts = OptOutStore(":memory:")
    optouts.opt_out("+15551234567")
    run_output(twilio_api, lambda out: out.send_text_message("u", "hello"), optouts)
    assert twilio_api.calls("Messages") == []


def test_optouts_survive_a_restart(tmp_path):
    path = str(tmp_path / "optout.sqlite")
    OptOutStore(path).opt_out("+15551234567")
    store = OptOutStore(path)
    assert store.is_opted_out("+15551234567")
    store.opt_in("+15551234567")
    assert not OptOutStore(path).is_opted_out("+15551234567")


def sms_channel(api, reply_within: float = 0.5) -> SmsInput:
    return SmsInput.from_credentials(
        {
            "account_sid": SID,
            "auth_token": TOKEN,
            "phone_number": "+15550001111",
            "api_base_url": api.url,
            "reply_within": reply_within,
            "optout_db": ":memory:",
            "dedupe_db": "memory",
        }
    )


def twilio_sid(name: str, prefix: str = "SM") -> str:
    """A SID in Twilio's format (prefix + 32 hex digits), stable per readable name."""
    return prefix + hashlib.md5(name.encode()).hexdigest()


def sms(body: str, sid: str, sender: str = "+15551234567", **extra: str) -> dict[str, str]:
    return {
        "MessageSid": twilio_sid(sid),
        "AccountSid": SID,
        "From": sender,
        "To": "+15550001111",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def run_sms(api, turn_seconds: float, messages: list[dict[str, str]]) -> tuple[list[str], list]:
    received = []

    async def on_new_message(message):
        received.append(message)
        await asyncio.sleep(turn_seconds)
        await message.output_channel.send_text_message(message.sender_id, f"answer to {message.text}")

    async def scenario():
        channel = sms_channel(api)
        bodies = [(await channel.handle(m, on_new_message)).body.decode() for m in messages]
        await channel.runner.drain(10)
        return bodies

    return asyncio.run(scenario()), received


def test_quick_turn_replies_in_twiml(twilio_api):
    (body,), received = run_sms(twilio_api, 0, [sms("hi", "SM1")])
    assert "<Message>answer to hi</Message>" in body
    assert twilio_api.calls("Messages") == [] and received[0].message_id == twilio_sid("SM1")


def test_slow_turn_answers_empty_twiml_then_uses_the_api(twilio_api):
    (body,), _ = run_sms(twilio_api, 1.0, [sms("hi", "SM2")])
    assert "<Message>" not in body
    (sent,) = twilio_api.calls("Messages")
    assert sent.params["Body"] == "answer to hi" and sent.params["To"] == "+15551234567"


def test_same_message_sid_is_one_turn(twilio_api):
    bodies, received = run_sms(twilio_api, 0, [sms("hi", "SM3")] * 3)
    assert len(received) == 1 and sum(b.count("<Message>") for b in bodies) == 1


def test_stop_start_help_and_mms(twilio_api):
    mms = sms("", "SM9", NumMedia="1", MediaUrl0="https://api.twilio.com/media/1")
    bodies, received = run_sms(
        twilio_api, 0, [sms("Stop", "SM4"), sms("hello", "SM5"), sms("START", "SM6"), sms("help", "SM7"), mms]
    )
    assert "unsubscribed" in bodies[0] and "<Message>" not in bodies[1]
    assert "subscribed again" in bodies[2] and "Reply STOP" in bodies[3] and "only read text" in bodies[4]
    assert received == []
