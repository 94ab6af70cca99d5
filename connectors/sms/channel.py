"""Twilio SMS input channel: signature-checked webhook, answered in TwiML when the turn is
quick and through the Messages API when it is not; STOP/START/HELP handled here.

Routes (prefix /webhooks/sms): GET / (health), POST /webhook.
"""

from __future__ import annotations

import asyncio
import logging
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from connectors.common import logmask
from connectors.common.credentials import as_float, read_settings
from connectors.common.dedupe import DedupeStore, MemoryDedupe, dedupe_from_settings
from connectors.common.runner import TurnRunner
from connectors.common.webhook import (
    DEFAULT_MAX_BODY,
    Rejected,
    bounded,
    check_headers,
    check_size,
    customer_text,
    decode_utf8,
    guard_blueprint,
    media_type,
    reject,
)
from connectors.sms.identity import conversation_id
from connectors.sms.optout import OptOutStore
from connectors.sms.output import DEFAULT_API_BASE_URL, SmsOutput, make_client

logger = logging.getLogger(__name__)

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "UNSTOP", "YES"}
HELP_WORDS = {"HELP", "INFO"}
# Feedback on an answer ("Helpful? Reply 1 for yes, 2 for no." in actions/render/sms.py).
# Never YES/NO: YES is a carrier opt-in keyword, answered by the carrier, not by us.
FEEDBACK_WORDS = {
    "1": "/feedback_helpful",
    "Y": "/feedback_helpful",
    "2": "/feedback_unhelpful",
    "N": "/feedback_unhelpful",
}

# Twilio's own formats: a message SID is SM/MM + 32 hex digits, an account SID AC + 32.
# The signature has no separators between parameters, so a signed request can be re-split
# (`MessageSid=SMxNumMedia0`); checking every field's format refuses such forgeries.
_MESSAGE_SID = re.compile(r"^(?:SM|MM)[0-9a-fA-F]{32}$")
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_ADDRESS = re.compile(r"^(?:[a-z]+:)?\+?[0-9]{3,15}$")  # E.164, short code, whatsapp:+1...
_MEDIA_URL = re.compile(r"^MediaUrl(0|[1-9][0-9]?)$")
_COUNT = re.compile(r"^[0-9]{1,2}$")  # never int() of a 4,301-digit or "²" string
MAX_MEDIA = 10

REQUIRED = {
    "account_sid": "TWILIO_ACCOUNT_SID",
    "auth_token": "TWILIO_AUTH_TOKEN",
    "phone_number": "TWILIO_PHONE_NUMBER",
}
OPTIONAL: dict[str, Any] = {
    "public_url": "",
    "api_base_url": DEFAULT_API_BASE_URL,
    "reply_within": 4.0,
    "help_text": "Nimbus Home support: text your question and we'll answer from our help centre. "
    "Reply STOP to opt out. Msg&data rates may apply.",
    "stop_text": "You're unsubscribed from Nimbus Home support and won't get more messages. "
    "Reply START to rejoin.",
    "start_text": "You're subscribed again. Text your question any time.",
    "media_text": "Sorry, I can only read text. Please type your question.",
    "optout_db": ".data/sms_optout.sqlite",
    "dedupe_ttl": 24 * 3600,
    "dedupe_redis_url": "",
    "dedupe_db": "",  # default: dedupe.sqlite beside $TRACKER_DB; "memory" for none
    "max_body_bytes": 64 * 1024,
    "send_attempts": 4,
    # Key for the pseudonymous conversation ids (default: the auth token). Changing it
    # starts new conversations for every number.
    "conversation_key": "",
}


def twiml(messages: list[str]) -> HTTPResponse:
    reply = MessagingResponse()
    for text in messages:
        reply.message(text)
    return response.text(str(reply), content_type="application/xml")


class SmsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "sms"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SmsInput:
        settings = read_settings("sms", credentials, REQUIRED, OPTIONAL)
        return cls(settings, dedupe_from_settings(settings, "sms"))

    def __init__(self, settings: dict[str, Any], dedupe: DedupeStore | None = None) -> None:
        logmask.install([settings["auth_token"]], phones=True)
        self.settings = settings
        self.account_sid = settings["account_sid"]
        self.phone_number = settings["phone_number"]
        self.public_url = str(settings.get("public_url") or "")
        self.reply_within = as_float("sms", "reply_within", settings.get("reply_within", 4.0))
        self.max_body_bytes = int(settings.get("max_body_bytes") or DEFAULT_MAX_BODY)
        self.validator = RequestValidator(settings["auth_token"])
        self.dedupe = dedupe or MemoryDedupe()
        self.conversation_key = str(settings.get("conversation_key") or settings["auth_token"])
        self.optouts = OptOutStore(str(settings.get("optout_db") or ":memory:"))
        self.runner = TurnRunner("sms")
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(
                self.account_sid,
                self.settings["auth_token"],
                str(self.settings.get("api_base_url") or DEFAULT_API_BASE_URL),
            )
        return self._client

    def get_output_channel(self) -> None:
        return None

    def _signed_url(self, request: Request) -> str:
        """The URL Twilio signed: configured (behind a proxy) or as forwarded to us."""
        query = f"?{request.query_string}" if request.query_string else ""
        if self.public_url:
            return self.public_url if "?" in self.public_url else self.public_url + query
        proto = request.headers.get("X-Forwarded-Proto") or request.scheme
        host = request.headers.get("X-Forwarded-Host") or request.host
        return f"{proto}://{host}{request.path}{query}"

    def _verify(self, request: Request) -> dict[str, str]:
        check_headers(request)
        body = check_size(request, self.max_body_bytes)
        signature = request.headers.get("X-Twilio-Signature")
        if not signature:
            raise Rejected(401, "missing X-Twilio-Signature")
        if media_type(request) != "application/x-www-form-urlencoded":
            raise Rejected(415, "unsupported content type")
        try:
            pairs = urllib.parse.parse_qsl(decode_utf8(body), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise Rejected(400, "form field is not valid UTF-8") from None
        params = dict(pairs)
        if not self.validator.validate(self._signed_url(request), params, signature):
            raise Rejected(403, "invalid signature")
        return params

    def check_fields(self, params: dict[str, str]) -> int:
        """Refuse a message whose fields are not as Twilio sends them; returns NumMedia.

        Unknown fields (WhatsApp's ProfileName, geo fields, new ones) are allowed.
        """
        if not _MESSAGE_SID.match(params.get("MessageSid") or ""):
            raise Rejected(400, "missing or malformed MessageSid")
        if not _ACCOUNT_SID.match(params.get("AccountSid") or ""):
            raise Rejected(400, "missing or malformed AccountSid")
        if params["AccountSid"] != self.account_sid:
            raise Rejected(403, "message for another account")
        for field in ("From", "To"):
            if not _ADDRESS.match(params.get(field) or ""):
                raise Rejected(400, f"missing or malformed {field}")
        count = params.get("NumMedia", "0")
        if not _COUNT.match(count) or int(count) > MAX_MEDIA:
            raise Rejected(400, "malformed NumMedia")
        indexes = {int(m.group(1)) for key in params if (m := _MEDIA_URL.match(key))}
        if indexes != set(range(int(count))):
            raise Rejected(400, "NumMedia does not match the MediaUrl fields")
        return int(count)

    async def handle(
        self, params: dict[str, str], on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        media = self.check_fields(params)
        sid, sender = params["MessageSid"], params["From"]
        body = (params.get("Body") or "").strip()
        try:
            body.encode("utf-8")
        except UnicodeEncodeError:
            raise Rejected(400, "malformed Body") from None
        conversation = conversation_id(sender, self.conversation_key)
        if not await self.dedupe.first_seen(f"message:{sid}"):
            logger.info("sms: duplicate %s dropped (conversation %s)", sid, conversation)
            return twiml([])
        keyword = body.upper().strip(" .!")
        if keyword in STOP_WORDS:
            self.optouts.opt_out(sender)
            logger.info("sms: customer opted out (conversation %s)", conversation)
            return twiml([self.settings["stop_text"]])
        if keyword in START_WORDS:
            self.optouts.opt_in(sender)
            return twiml([self.settings["start_text"]])
        if self.optouts.is_opted_out(sender):
            return twiml([])  # they asked us to stop: no reply of any kind
        if keyword in HELP_WORDS:
            return twiml([self.settings["help_text"]])
        text = FEEDBACK_WORDS.get(keyword) or customer_text(body)
        if not text:
            return twiml([self.settings["media_text"]] if media else [])
        return await self._turn(sid, sender, conversation, text, params, on_new_message)

    async def _turn(
        self,
        sid: str,
        sender: str,
        conversation: str,
        body: str,
        params: dict[str, str],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> HTTPResponse:
        to_number = params.get("To") or self.phone_number
        output = SmsOutput(
            self.client,
            to_number,
            sender,
            self.optouts,
            attempts=int(self.settings.get("send_attempts") or 4),
            conversation=conversation,
        )
        metadata = bounded(
            {
                "sms": {
                    "to": to_number,
                    "from_country": params.get("FromCountry"),
                    "num_media": params.get("NumMedia"),
                    "message_sid": sid,
                }
            }
        )
        task = self.runner.start(
            on_new_message(
                UserMessage(
                    body,
                    output,
                    conversation,  # never the number: it is logged and stored everywhere
                    input_channel=self.name(),
                    message_id=sid,
                    metadata=metadata,
                )
            ),
            conversation,
        )
        done, _ = await asyncio.wait({task}, timeout=self.reply_within)
        if done:
            messages, output.buffer = output.buffer, []
            output.collecting = False
            return twiml(messages)
        # Too slow for Twilio's webhook: answer empty now, send the reply when it is ready.
        self.runner.start(output.release(), conversation)
        return twiml([])

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("nimbus_sms", __name__)
        guard_blueprint(bp, self.max_body_bytes)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            try:
                return await self.handle(self._verify(request), on_new_message)
            except Rejected as exc:
                return reject("sms", exc, request)

        @bp.listener("before_server_stop")
        async def drain(app: Any, _loop: Any) -> None:
            await self.runner.drain()

        return bp
