"""SMS (Twilio): signature checks against Twilio's published example, keywords, and sending."""

from __future__ import annotations

import asyncio

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
