"""One real bot with the Slack, Telegram, SMS and WhatsApp channels loaded from a credentials file,
each pointed at a local stand-in of its platform's API, shared by all channel e2e tests.

The fixtures are registered once, in tests/e2e/conftest.py (a fixture imported into several
test modules would be a separate session fixture in each, i.e. one stack per module); test
modules import only the helpers. Rasa and the action server start once for all channel tests.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.standins.openai_server import OpenAIStandIn
from tests.standins.slack_api import SlackStandIn
from tests.standins.telegram_api import TelegramStandIn
from tests.standins.twilio_api import TwilioStandIn

SLACK_TOKEN = "xoxb-e2e-bot-token"
SLACK_SECRET = "e2e-slack-signing-secret"
TELEGRAM_TOKEN = "424242:E2E-telegram-token"
TELEGRAM_SECRET = "e2e-telegram-webhook-secret"
TWILIO_SID = "AC" + "e2e0" * 8
TWILIO_TOKEN = "e2e-twilio-auth-token"
TWILIO_NUMBER = "+15550001111"
SMS_PUBLIC_URL = "https://bot.example.com/webhooks/sms/webhook"
TWILIO_WHATSAPP_NUMBER = "whatsapp:+15550002222"
WHATSAPP_PUBLIC_URL = "https://bot.example.com/webhooks/whatsapp/webhook"
SLACK_TEAM_CHANNEL = "C0SUPPORTTEAM"  # where handoffs from every channel are announced


@dataclass
class Reply:
    status: int
    body: bytes
    seconds: float
    content_type: str = ""

    def json(self):
        return json.loads(self.body)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 30) -> Reply:
    request = urllib.request.Request(url, body, headers, method="POST")
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read()
            return Reply(
                response.status, data, time.monotonic() - started, response.headers.get("Content-Type", "")
            )
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.read(), time.monotonic() - started, exc.headers.get("Content-Type", ""))


@pytest.fixture(scope="session")
def openai_latency_standin():
    server = OpenAIStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def slack_api():
    server = SlackStandIn(token=SLACK_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def telegram_api():
    server = TelegramStandIn(token=TELEGRAM_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def twilio_api():
    server = TwilioStandIn(TWILIO_SID, TWILIO_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def channel_credentials(tmp_path_factory, slack_api, telegram_api, twilio_api) -> Path:
    tmp = tmp_path_factory.mktemp("channel-creds")
    config = {
        "connectors.rest.RestInput": None,
        "rasa_ext.server.NimbusServer": None,
        "connectors.slack.SlackInput": {
            "bot_token": SLACK_TOKEN,
            "signing_secret": SLACK_SECRET,
            "api_base_url": slack_api.base_url,
            "handoff_channel": SLACK_TEAM_CHANNEL,
        },
        "connectors.telegram.TelegramInput": {
            "token": TELEGRAM_TOKEN,
            "webhook_secret": TELEGRAM_SECRET,
            "base_url": telegram_api.base_url,
        },
        "connectors.sms.SmsInput": {
            "account_sid": TWILIO_SID,
            "auth_token": TWILIO_TOKEN,
            "phone_number": TWILIO_NUMBER,
            "api_base_url": twilio_api.url,
            "public_url": SMS_PUBLIC_URL,
            "optout_db": str(tmp / "optout.sqlite"),
        },
        "connectors.whatsapp.WhatsAppInput": {
            "account_sid": TWILIO_SID,
            "auth_token": TWILIO_TOKEN,
            "whatsapp_number": TWILIO_WHATSAPP_NUMBER,
            "api_base_url": twilio_api.url,
            "public_url": WHATSAPP_PUBLIC_URL,
            "optout_db": str(tmp / "whatsapp_optout.sqlite"),
            "window_db": str(tmp / "whatsapp_window.sqlite"),
        },
    }
    path = tmp / "credentials.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def channel_stack(tmp_path_factory, model, channel_credentials, kb_uri, openai_latency_standin):
    from tests.e2e.conftest import running_stack  # here, not at import: conftest imports this module

    env = {
        "OPENAI_API_KEY": "sk-test-standin",
        "OPENAI_BASE_URL": openai_latency_standin.base_url,
        "OPENAI_MODEL": "stand-in-model",
        "OPENAI_TIMEOUT": "30",
        "OPENAI_MAX_RETRIES": "0",
        # The action server tells the team through the Slack connector's handoff route.
        "SLACK_HANDOFF_CHANNEL": SLACK_TEAM_CHANNEL,
    }
    with running_stack(tmp_path_factory.mktemp("channels"), model, channel_credentials, kb_uri, env) as stack:
        yield stack


def user_events(stack, conversation: str, count: int = 1, timeout: float = 15) -> list[dict]:
    """The conversation's user events, once Rasa has stored at least `count` of them.

    Rasa saves the tracker after the whole turn, so a reply seen at a platform stand-in can
    arrive a moment before the turn that sent it is in the tracker store.
    """
    from tests.e2e.conftest import tracker

    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in tracker(stack, conversation)["events"] if e["event"] == "user"]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def rasa_log(stack) -> str:
    path = stack.log_dir / "rasa.log"
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


# --- Slack -----------------------------------------------------------------------------


def slack_signed_headers(
    body: bytes,
    timestamp: int | None = None,
    secret: str = SLACK_SECRET,
    content_type: str = "application/json",
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


def slack_event(stack, envelope: dict, retry: int = 0, **header_args) -> Reply:
    body = json.dumps(envelope).encode()
    headers = slack_signed_headers(body, **header_args)
    if retry:
        headers["X-Slack-Retry-Num"] = str(retry)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return post(f"{stack.rasa_url}/webhooks/slack/events", body, headers)


# --- Telegram --------------------------------------------------------------------------


def telegram_update(
    stack,
    update: dict,
    secret: str | None = TELEGRAM_SECRET,
    content_type: str = "application/json",
    raw: bytes | None = None,
) -> Reply:
    headers = {"Content-Type": content_type}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    body = raw if raw is not None else json.dumps(update).encode()
    return post(f"{stack.rasa_url}/webhooks/telegram/webhook", body, headers)


# --- SMS (Twilio) ----------------------------------------------------------------------


def twilio_form(
    params: dict[str, str], token: str = TWILIO_TOKEN, url: str = SMS_PUBLIC_URL
) -> tuple[bytes, dict]:
    from twilio.request_validator import RequestValidator

    body = urllib.parse.urlencode(params).encode()
    signature = RequestValidator(token).compute_signature(url, params)
    return body, {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}


def sms_conversation(number: str, channel: str = "sms") -> str:
    """The conversation id a Twilio channel gives a number (a keyed hash, not the number)."""
    from connectors.twilio.identity import conversation_id

    return conversation_id(number, TWILIO_TOKEN, channel)


def sms_webhook(stack, params: dict[str, str], **kw) -> Reply:
    body, headers = twilio_form(params, **kw)
    return post(f"{stack.rasa_url}/webhooks/sms/webhook", body, headers)


# --- WhatsApp (Twilio) -----------------------------------------------------------------


def whatsapp_webhook(stack, twilio_api, params: dict[str, str], **kw) -> Reply:
    """Twilio relaying a WhatsApp message: it opens the customer's service window at Twilio
    (the stand-in) and posts the signed webhook."""
    twilio_api.inbound(params.get("From", ""))
    body, headers = twilio_form(params, **{"url": WHATSAPP_PUBLIC_URL, **kw})
    return post(f"{stack.rasa_url}/webhooks/whatsapp/webhook", body, headers)
