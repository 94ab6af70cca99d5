"""WhatsApp through Twilio: answered through the Messages API, STOP honoured, media-only
messages answered politely, nothing free-form outside the 24-hour window."""

from __future__ import annotations

import asyncio
import logging

import pytest

from connectors.common.webhook import Rejected
from connectors.twilio.api import make_client
from connectors.twilio.optout import OptOutStore
from connectors.whatsapp import WhatsAppInput
from connectors.whatsapp.output import WhatsAppOutput
from connectors.whatsapp.window import WINDOW_SECONDS, ServiceWindow
from tests.connectors.test_sms import SID, TOKEN, twilio_sid
from tests.standins.twilio_api import TwilioStandIn

CUSTOMER = "whatsapp:+15551234567"
OURS = "whatsapp:+15550001111"


@pytest.fixture
def twilio_api():
    server = TwilioStandIn(SID, TOKEN).start()
    yield server
    server.stop()


def channel(api) -> WhatsAppInput:
    return WhatsAppInput.from_credentials(
        {
            "account_sid": SID,
            "auth_token": TOKEN,
            "whatsapp_number": "+15550001111",
            "api_base_url": api.url,
            "optout_db": ":memory:",
            "window_db": ":memory:",
            "dedupe_db": "memory",
        }
    )


def message(body: str, sid: str, sender: str = CUSTOMER, **extra: str) -> dict[str, str]:
    return {
        "MessageSid": twilio_sid(sid),
        "AccountSid": SID,
        "From": sender,
        "To": OURS,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Dana",
        **extra,
    }


def run(api, messages: list[dict[str, str]]) -> tuple[list[str], list]:
    received = []

    async def on_new_message(msg):
        received.append(msg)
        await msg.output_channel.send_text_message(msg.sender_id, f"answer to {msg.text}")

    async def scenario():
        wa = channel(api)
        bodies = [(await wa.handle(m, on_new_message)).body.decode() for m in messages]
        await wa.runner.drain(10)
        await wa.after_drain()
        return bodies

    return asyncio.run(scenario()), received


def test_a_message_is_answered_through_the_api_under_a_hashed_conversation_id(twilio_api):
    (body,), (received,) = run(twilio_api, [message("how do I reset my hub?", "WA1")])
    assert "<Message>" not in body
    assert received.sender_id.startswith("whatsapp:") and "5551234567" not in received.sender_id
    (sent,) = twilio_api.calls("Messages")
    assert sent.params["To"] == CUSTOMER and sent.params["From"] == OURS
    assert sent.params["Body"] == "answer to how do I reset my hub?"


def test_stop_is_honoured_until_start(twilio_api):
    bodies, received = run(
        twilio_api, [message("STOP", "WA2"), message("hello", "WA3"), message("start", "WA4")]
    )
    assert "won't get more messages" in bodies[0] and "<Message>" not in bodies[1]
    assert "subscribed again" in bodies[2] and received == []
    assert twilio_api.calls("Messages") == []


def test_a_media_only_message_gets_a_polite_reply(twilio_api):
    (body,), received = run(
        twilio_api, [message("", "WA5", NumMedia="1", MediaUrl0="https://api.twilio.com/media/1")]
    )
    assert "only read text" in body and received == []


def test_an_sms_sender_on_the_whatsapp_webhook_is_refused(twilio_api):
    with pytest.raises(Rejected) as refused:
        run(twilio_api, [message("hi", "WA6", sender="+15551234567")])
    assert refused.value.status == 400


def test_no_free_form_reply_outside_the_24_hour_window(twilio_api, caplog):
    now = [1_000_000.0]
    window = ServiceWindow(":memory:", clock=lambda: now[0])
    window.customer_wrote(CUSTOMER)

    async def scenario():
        client = make_client(SID, TOKEN, twilio_api.url)
        out = WhatsAppOutput(window, client, OURS, CUSTOMER, OptOutStore(":memory:"), "whatsapp:abc")
        await out.send_text_message("u", "inside the window")
        now[0] += WINDOW_SECONDS + 1
        await out.send_text_message("u", "a day later")
        await client.http_client.session.close()

    with caplog.at_level(logging.INFO, logger="connectors.whatsapp.output"):
        asyncio.run(scenario())
    assert [c.params["Body"] for c in twilio_api.calls("Messages")] == ["inside the window"]
    assert "outside the 24-hour customer-service window" in caplog.text
    assert "5551234567" not in caplog.text  # why, but never to whom


def test_a_retried_message_sid_is_answered_once(twilio_api):
    _, received = run(twilio_api, [message("hello", "WA7"), message("hello", "WA7")])
    assert len(received) == 1 and len(twilio_api.calls("Messages")) == 1
