"""Load drivers for `bench.channels`: a customer on Slack, Telegram, SMS or REST.

Each platform driver posts the webhook its platform would post, signed the platform's
way, and learns of the bot's reply where the platform would: at the platform API
stand-in (tests/standins), which tells a `Replies` hub of every call as it arrives. The
same driver aims at our connector or, with `builtin=True`, at Rasa's built-in channel
(bench/builtin_channels.py), which differs in route, credentials and behaviour.

A turn: post the webhook (its response time is the acknowledgement), wait for the first
reply call at the stand-in (end-to-end), then let the reply settle (`settle` seconds
without another call), so a multi-part reply is not mistaken for the next turn's answer.
Replies arriving after that, before the conversation's next message, still count for the
turn they followed (that is where a duplicate answer would show).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.standins.http_standin import Recorded, StandIn
from tests.standins.slack_api import BOT_USER_ID, SlackStandIn
from tests.standins.telegram_api import BOT_USERNAME, TelegramStandIn
from tests.standins.twilio_api import TwilioStandIn

# The OpenAI stand-in starts every answer with this: a reply carrying it cost one model call.
MODEL_MARK = "From the help centre:"

SLACK_TOKEN = "xoxb-bench-bot-token"
SLACK_SECRET = "bench-slack-signing-secret"
SLACK_TEAM = "TBENCH"
TELEGRAM_TOKEN = "424242:BENCH-telegram-token"
TELEGRAM_SECRET = "bench-telegram-webhook-secret"
TWILIO_SID = "AC" + "be0c" * 8
TWILIO_TOKEN = "bench-twilio-auth-token"
TWILIO_NUMBER = "+15550001111"
SMS_PUBLIC_URL = "https://bot.example.com/webhooks/sms/webhook"


@dataclass
class Reply:
    at: float  # time.monotonic() when the stand-in received the call
    text: str
    ok: bool  # the platform accepted it
    error: str = ""


@dataclass
class Turn:
    conversation: str
    sent_at: float
    ack_ms: float
    ack_status: int
    e2e_ms: float | None = None  # first reply call at the platform API (accepted or not)
    replies: list[Reply] = field(default_factory=list)
    error: str = ""

    @property
    def answered(self) -> bool:
        return not self.error and any(r.ok for r in self.replies)

    @property
    def model_used(self) -> bool:
        return any(MODEL_MARK in r.text for r in self.replies)

    @property
    def duplicates(self) -> int:
        """Identical replies delivered more than once for this one message."""
        texts = [r.text for r in self.replies if r.ok]
        return len(texts) - len(set(texts))


class Replies:
    """Routes each reply call seen at a stand-in to the conversation it belongs to.

    Stand-ins run in threads; each asyncio run of a load level binds a fresh loop.
    """

    def __init__(
        self,
        standin: StandIn,
        key: Callable[[Recorded], str | None],
        text: Callable[[Recorded], str],
        accepted: Callable[[int, dict[str, Any]], tuple[bool, str]],
    ) -> None:
        self._key, self._text, self._accepted = key, text, accepted
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: dict[str, asyncio.Queue[Reply]] = {}
        self.seen: dict[str, int] = {}  # reply calls per conversation this level, for diagnosis
        standin.observers.append(self._observe)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._queues = {}
        self.seen = {}
        self._loop = loop

    def queue(self, key: str) -> asyncio.Queue[Reply]:
        return self._queues.setdefault(key, asyncio.Queue())

    def _observe(self, record: Recorded, status: int, body: dict[str, Any]) -> None:
        key, loop = self._key(record), self._loop
        if key is None or loop is None or loop.is_closed():
            return
        self.seen[key] = self.seen.get(key, 0) + 1
        ok, error = self._accepted(status, body)
        reply = Reply(record.at, self._text(record), ok, error)
        try:
            loop.call_soon_threadsafe(lambda: self.queue(key).put_nowait(reply))
        except RuntimeError:  # the level's loop closed meanwhile
            pass


def drain(queue: asyncio.Queue[Reply]) -> list[Reply]:
    out = []
    while not queue.empty():
        out.append(queue.get_nowait())
    return out


class WireClock:
    """When the webhook's first byte was written (httpcore's trace extension).

    Latencies start there, not when the driver decided to send: with 64 conversations
    in one process, the driver's own event loop can take tens of milliseconds to get a
    request onto the socket, and a platform's servers have no such queue of their own.
    """

    def __init__(self, decided: float) -> None:
        self.decided = decided
        self.at: float | None = None

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        if self.at is None and event == "http11.send_request_headers.started":
            self.at = time.monotonic()

    @property
    def origin(self) -> float:
        return self.at if self.at is not None else self.decided


class PlatformDriver:
    """Shared turn logic; subclasses build and sign the platform's webhook."""

    name = ""
    builtin = False
    # Rasa's telegram and twilio channels answer the webhook only after the whole turn:
    # their replies are at the stand-in before the acknowledgement is.
    acks_after_turn = False

    def __init__(self, replies: Replies, url: str, timeout: float, settle: float) -> None:
        self.replies = replies
        self.url = url
        self.timeout = timeout
        self.settle = settle

    def conversation(self, run_id: str, index: int) -> str:
        raise NotImplementedError

    def request(self, conversation: str, text: str) -> tuple[bytes, dict[str, str]]:
        raise NotImplementedError

    def inline_replies(self, response: httpx.Response) -> list[str]:
        """Replies carried in the webhook response itself (TwiML); none elsewhere."""
        return []

    async def send(self, client: httpx.AsyncClient, conversation: str, text: str, prior: Turn | None) -> Turn:
        queue = self.replies.queue(conversation)
        if prior is not None:
            prior.replies.extend(drain(queue))  # late replies belong to the previous message
        body, headers = self.request(conversation, text)
        sent = time.monotonic()
        wire = WireClock(sent)
        post = asyncio.ensure_future(
            client.post(self.url, content=body, headers=headers, extensions={"trace": wire})
        )
        first = asyncio.ensure_future(queue.get())
        turn = Turn(conversation, sent, ack_ms=float("nan"), ack_status=0)
        try:
            await asyncio.wait({post, first}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED)
            if not post.done() and not first.done():
                turn.error = "timeout"
                return turn
            if post.done() or not first.done():
                try:
                    response = await asyncio.wait_for(post, self.timeout)
                except (httpx.HTTPError, asyncio.TimeoutError) as exc:
                    turn.error = f"webhook {type(exc).__name__}"
                    return turn
            else:
                response = None
            if response is not None:
                turn.ack_ms, turn.ack_status = (time.monotonic() - wire.origin) * 1000, response.status_code
                inline = self.inline_replies(response) if response.is_success else []
                if inline and not first.done():
                    turn.e2e_ms = turn.ack_ms
                    turn.replies += [Reply(wire.origin + turn.ack_ms / 1000, t, True) for t in inline]
            if turn.e2e_ms is None:
                wait = 1.0 if (self.acks_after_turn and response is not None) else self.timeout
                try:
                    reply = await asyncio.wait_for(asyncio.shield(first), wait)
                except asyncio.TimeoutError:
                    turn.error = (
                        "no reply"
                        if response is not None and response.is_success
                        else (f"webhook HTTP {turn.ack_status}")
                    )
                    return turn
                turn.e2e_ms = (reply.at - wire.origin) * 1000
                turn.replies.append(reply)
            if response is None:
                try:
                    response = await asyncio.wait_for(post, self.timeout)
                    turn.ack_ms = (time.monotonic() - wire.origin) * 1000
                    turn.ack_status = response.status_code
                except (httpx.HTTPError, asyncio.TimeoutError) as exc:
                    turn.error = f"webhook {type(exc).__name__}"
            await self._settle(queue, turn)
            if not turn.error and not any(r.ok for r in turn.replies):
                turn.error = "rejected by platform: " + ", ".join(sorted({r.error for r in turn.replies}))
            return turn
        finally:
            for task in (post, first):
                if not task.done():
                    task.cancel()

    async def _settle(self, queue: asyncio.Queue[Reply], turn: Turn) -> None:
        while True:
            try:
                turn.replies.append(await asyncio.wait_for(queue.get(), self.settle))
            except asyncio.TimeoutError:
                return


# --- Slack -----------------------------------------------------------------------------


def slack_replies(standin: SlackStandIn) -> Replies:
    def text(record: Recorded) -> str:
        value = record.params.get("text")
        # Rasa's built-in posts our custom payload's keys as API arguments: keep them visible.
        return value if isinstance(value, str) and value else json.dumps(record.params, sort_keys=True)

    return Replies(
        standin,
        key=lambda r: r.params.get("channel") if r.method == "chat.postMessage" else None,
        text=text,
        accepted=lambda status, body: (bool(body.get("ok")), str(body.get("error") or "")),
    )


class SlackDriver(PlatformDriver):
    """Events API `event_callback` for a direct message (`message.im`), v0-signed."""

    name = "slack"

    def __init__(self, replies: Replies, rasa_url: str, timeout: float, settle: float, builtin: bool = False):
        path = "/webhooks/slack/webhook" if builtin else "/webhooks/slack/events"
        super().__init__(replies, rasa_url + path, timeout, settle)
        self.builtin = builtin
        self.name = "slack-builtin" if builtin else "slack"

    def conversation(self, run_id: str, index: int) -> str:
        return f"D{run_id.upper()}{index:05d}"  # one DM channel per customer

    def request(self, conversation: str, text: str) -> tuple[bytes, dict[str, str]]:
        now = time.time()
        ts = f"{now:.6f}"
        envelope = {
            "token": "legacy-verification-token",
            "team_id": SLACK_TEAM,
            "api_app_id": "ABENCH",
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(8).upper(),
            "event_time": int(now),
            "authorizations": [{"team_id": SLACK_TEAM, "user_id": BOT_USER_ID, "is_bot": True}],
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": conversation,
                "user": "U" + conversation[1:],
                "text": text,
                "ts": ts,
                "event_ts": ts,
                "client_msg_id": secrets.token_hex(16),
                "team": SLACK_TEAM,
            },
        }
        body = json.dumps(envelope).encode()
        stamp = str(int(now))
        digest = hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        return body, {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={digest}",
        }


# --- Telegram --------------------------------------------------------------------------


def telegram_replies(standin: TelegramStandIn) -> Replies:
    return Replies(
        standin,
        key=lambda r: str(r.params.get("chat_id")) if r.method == "sendMessage" else None,
        text=lambda r: str(r.params.get("text") or ""),
        accepted=lambda status, body: (
            status == 200 and bool(body.get("ok")),
            str(body.get("description", "")),
        ),
    )


class TelegramDriver(PlatformDriver):
    """A private-chat `message` update with the webhook secret header."""

    _update_ids = itertools.count(secrets.randbelow(10**8) * 10)
    _chat_ids = itertools.count(10**9 + secrets.randbelow(10**8) * 100)

    def __init__(self, replies: Replies, rasa_url: str, timeout: float, settle: float, builtin: bool = False):
        super().__init__(replies, rasa_url + "/webhooks/telegram/webhook", timeout, settle)
        self.builtin = builtin
        self.name = "telegram-builtin" if builtin else "telegram"
        self.acks_after_turn = builtin

    def conversation(self, run_id: str, index: int) -> str:
        return str(next(self._chat_ids))

    def request(self, conversation: str, text: str) -> tuple[bytes, dict[str, str]]:
        chat = int(conversation)
        update = {
            "update_id": next(self._update_ids),
            "message": {
                "message_id": secrets.randbelow(10**6),
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private", "first_name": "Bench"},
                "from": {"id": chat, "is_bot": False, "first_name": "Bench", "language_code": "en"},
                "text": text,
            },
        }
        return json.dumps(update).encode(), {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
        }


# --- SMS (Twilio) ----------------------------------------------------------------------


def twilio_replies(standin: TwilioStandIn) -> Replies:
    return Replies(
        standin,
        key=lambda r: r.params.get("To") if r.method == "Messages" else None,
        text=lambda r: str(r.params.get("Body") or ""),
        accepted=lambda status, body: (status == 201, str(body.get("message", ""))),
    )


class SmsDriver(PlatformDriver):
    """An inbound-SMS form post, X-Twilio-Signature over the configured public URL."""

    _numbers = itertools.count(secrets.randbelow(10**3) * 10**4)

    def __init__(self, replies: Replies, rasa_url: str, timeout: float, settle: float, builtin: bool = False):
        path = "/webhooks/twilio/webhook" if builtin else "/webhooks/sms/webhook"
        super().__init__(replies, rasa_url + path, timeout, settle)
        self.builtin = builtin
        self.name = "twilio-builtin" if builtin else "sms"
        self.acks_after_turn = builtin
        # Twilio signs the URL configured for the number; Rasa's channel never checks it.
        self.signed_url = rasa_url + path if builtin else SMS_PUBLIC_URL

    def conversation(self, run_id: str, index: int) -> str:
        return f"+1555{next(self._numbers) % 10**7:07d}"

    def request(self, conversation: str, text: str) -> tuple[bytes, dict[str, str]]:
        from twilio.request_validator import RequestValidator

        sid = "SM" + secrets.token_hex(16)
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "AccountSid": TWILIO_SID,
            "From": conversation,
            "To": TWILIO_NUMBER,
            "Body": text,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "FromCountry": "US",
            "ApiVersion": "2010-04-01",
        }
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(self.signed_url, params)
        return urllib.parse.urlencode(params).encode(), {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        }

    def inline_replies(self, response: httpx.Response) -> list[str]:
        if "xml" not in response.headers.get("content-type", "") or not response.content.strip():
            return []
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError:
            return []
        return [(m.findtext("Body") or m.text or "").strip() for m in root.iter("Message")]


# --- REST (Rasa's own channel; the reply is the webhook response) ----------------------


class RestDriver:
    name = "rest"
    builtin = False

    def __init__(self, rasa_url: str, timeout: float) -> None:
        self.url = rasa_url + "/webhooks/rest/webhook"
        self.timeout = timeout

    def conversation(self, run_id: str, index: int) -> str:
        return f"bench-{run_id}-{index}"

    async def send(self, client: httpx.AsyncClient, conversation: str, text: str, prior: Turn | None) -> Turn:
        sent = time.monotonic()
        wire = WireClock(sent)
        turn = Turn(conversation, sent, ack_ms=float("nan"), ack_status=0)
        try:
            response = await client.post(
                self.url,
                json={"sender": conversation, "message": text},
                timeout=self.timeout,
                extensions={"trace": wire},
            )
            turn.ack_ms = turn.e2e_ms = (time.monotonic() - wire.origin) * 1000
            turn.ack_status = response.status_code
            response.raise_for_status()
            replies = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            turn.error = type(exc).__name__
            return turn
        at = wire.origin + turn.ack_ms / 1000
        turn.replies = [Reply(at, r["text"], True) for r in replies if r.get("text")]
        if not turn.replies:
            turn.error = "empty reply"
        return turn


# --- credentials ---------------------------------------------------------------------


def our_credentials(
    slack: SlackStandIn,
    telegram: TelegramStandIn,
    twilio: TwilioStandIn,
    work: str,
    sms_reply_within: float | None = None,
) -> dict:
    """Our connectors as shipped (defaults), aimed at the stand-ins.

    `sms_reply_within` overrides the SMS channel's TwiML window (0 = acknowledge every
    webhook at once and send each answer through the Messages API).
    """
    sms_extra = {} if sms_reply_within is None else {"reply_within": sms_reply_within}
    return {
        "connectors.rest.RestInput": None,
        "connectors.slack.SlackInput": {
            "bot_token": SLACK_TOKEN,
            "signing_secret": SLACK_SECRET,
            "api_base_url": slack.base_url,
        },
        "connectors.telegram.TelegramInput": {
            "token": TELEGRAM_TOKEN,
            "webhook_secret": TELEGRAM_SECRET,
            "base_url": telegram.base_url,
        },
        "connectors.sms.SmsInput": {
            "account_sid": TWILIO_SID,
            "auth_token": TWILIO_TOKEN,
            "phone_number": TWILIO_NUMBER,
            "api_base_url": twilio.url,
            "public_url": SMS_PUBLIC_URL,
            "optout_db": f"{work}/sms_optout.sqlite",
            **sms_extra,
        },
    }


def builtin_credentials(
    slack: SlackStandIn, telegram: TelegramStandIn, twilio: TwilioStandIn, rasa_url: str
) -> dict:
    """Rasa's built-in channels with the settings their docs ask for, plus the stand-in URL."""
    return {
        "bench.builtin_channels.SlackInput": {
            "slack_token": SLACK_TOKEN,
            "slack_signing_secret": SLACK_SECRET,
            "api_base_url": slack.base_url,
        },
        "bench.builtin_channels.TelegramInput": {
            "access_token": TELEGRAM_TOKEN,
            "verify": BOT_USERNAME,
            "webhook_url": rasa_url + "/webhooks/telegram/webhook",
            "api_base_url": telegram.base_url,
        },
        "bench.builtin_channels.TwilioInput": {
            "account_sid": TWILIO_SID,
            "auth_token": TWILIO_TOKEN,
            "twilio_number": TWILIO_NUMBER,
            "api_base_url": twilio.url,
        },
    }


# What each built-in channel does differently, for the report.
BUILTIN_NOTES = {
    "slack-builtin": [
        "verifies X-Slack-Signature (v0 HMAC, 5-minute window) like ours",
        "acknowledges at once and runs the turn in a background task, like ours",
        "no event_id dedupe: only retries whose X-Slack-Retry-Reason is http_timeout are dropped",
        "posts a custom payload's keys as chat.postMessage arguments (our Slack blocks arrive as an "
        "unknown 'slack' argument with no text: Slack answers no_text)",
        "splits text on blank lines into several posts; no reaction while working",
    ],
    "telegram-builtin": [
        "does not check X-Telegram-Bot-Api-Secret-Token (anyone can post updates); its 'verify' "
        "setting only compares getMe's username",
        "calls getMe on every update (one extra API round trip per message)",
        "calls setWebhook at start-up (asyncio.run inside blueprint creation)",
        "acknowledges only after the whole turn (ack = end-to-end); Telegram retries slow webhooks",
        "no update_id dedupe",
        "sends a custom payload only if it has top-level Telegram keys (text, photo, ...): "
        "our {'telegram': {...}} payload is silently dropped",
    ],
    "twilio-builtin": [
        "does not verify X-Twilio-Signature",
        "acknowledges (204) only after the whole turn",
        "sends with twilio's synchronous REST client inside the event loop (blocks every "
        "conversation during each send)",
        "uses the phone number itself as the conversation id (stored and logged)",
        "no MessageSid dedupe, no STOP handling",
        "splits text on blank lines into several SMS; a custom payload's keys become "
        "Messages.create arguments",
    ],
}
