"""Twilio SMS input channel: signature-checked webhook, answered in TwiML when the turn is
quick and through the Messages API when it is not; STOP/START/HELP handled here.

Routes (prefix /webhooks/sms): GET / (health), POST /webhook.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.common import logmask
from connectors.common.channel import WebhookInput
from connectors.common.credentials import as_float
from connectors.common.dedupe import DedupeStore, dedupe_from_settings, default_dedupe_db
from connectors.common.webhook import (
    DEFAULT_MAX_BODY,
    Rejected,
    bounded,
    customer_text,
)
from connectors.sms.output import SmsOutput
from connectors.twilio.api import DEFAULT_API_BASE_URL, make_client
from connectors.twilio.identity import conversation_id
from connectors.twilio.keywords import FEEDBACK_WORDS, HELP_WORDS, START_WORDS, STOP_WORDS
from connectors.twilio.numbers import NumberMap
from connectors.twilio.optout import OptOutStore
from connectors.twilio.webhook import TwilioWebhook, twiml

logger = logging.getLogger(__name__)

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
    # Numbers of handed-over conversations, encrypted, so an agent's reply can be texted
    # (connectors/twilio/numbers.py). Default file: beside the dedupe store; default key:
    # the auth token.
    "number_map_db": "",
    "number_map_key": "",
}


class SmsInput(WebhookInput):
    channel_name = "sms"
    REQUIRED = REQUIRED
    OPTIONAL = OPTIONAL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SmsInput:
        settings = cls.settings(credentials)
        return cls(settings, dedupe_from_settings(settings, "sms"))

    def __init__(self, settings: dict[str, Any], dedupe: DedupeStore | None = None) -> None:
        logmask.install([settings["auth_token"]], phones=True)
        self.settings = settings
        self.account_sid = settings["account_sid"]
        self.phone_number = settings["phone_number"]
        self.reply_within = as_float("sms", "reply_within", settings.get("reply_within", 4.0))
        super().__init__(dedupe, int(settings.get("max_body_bytes") or DEFAULT_MAX_BODY))
        self.webhook = TwilioWebhook(
            self.account_sid,
            settings["auth_token"],
            str(settings.get("public_url") or ""),
            self.max_body_bytes,
        )
        self.conversation_key = str(settings.get("conversation_key") or settings["auth_token"])
        self.optouts = OptOutStore(str(settings.get("optout_db") or ":memory:"))
        number_key = str(settings.get("number_map_key") or settings["auth_token"])
        logmask.install([number_key])
        self.numbers = NumberMap(
            str(settings.get("number_map_db") or Path(default_dedupe_db()).with_name("sms_numbers.sqlite")),
            number_key,
        )
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

    def _verify(self, request: Request) -> dict[str, str]:
        return self.webhook.verify(request)

    def check_fields(self, params: dict[str, str]) -> int:
        return self.webhook.check_fields(params)

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
        if not await self.first_seen(f"message:{sid}", conversation):
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
            numbers=self.numbers,
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
        # The conversation id, never the number: it is logged and stored everywhere.
        task = self.start_turn(on_new_message, output, body, conversation, message_id=sid, metadata=metadata)
        done, _ = await asyncio.wait({task}, timeout=self.reply_within)
        if done:
            messages, output.buffer = output.buffer, []
            output.collecting = False
            return twiml(messages)
        # Too slow for Twilio's webhook: answer empty now, send the reply when it is ready.
        self.runner.start(output.release(), conversation)
        return twiml([])

    async def after_drain(self) -> None:
        if self._client is not None:
            await self._client.http_client.close()

    def output_for_conversation(self, conversation_id: str) -> SmsOutput | None:
        """Texts the number kept for a handed-over conversation (None if there is none)."""
        number = self.numbers.number(conversation_id)
        if number is None:
            return None
        return SmsOutput(
            self.client,
            self.phone_number,
            number,
            self.optouts,
            collecting=False,
            attempts=int(self.settings.get("send_attempts") or 4),
            conversation=conversation_id,
        )

    def add_routes(self, bp: Blueprint, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        async def webhook(request: Request) -> HTTPResponse:
            return await self.handle(self._verify(request), on_new_message)

        self.post(bp, "/webhook", webhook)
