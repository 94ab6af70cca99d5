"""WhatsApp through Twilio: the same signed webhook and Messages API as SMS
(connectors/twilio/), acknowledged at once with empty TwiML and answered through the API.

Routes (prefix /webhooks/whatsapp): GET / (health), POST /webhook.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.common import logmask
from connectors.common.channel import WebhookInput
from connectors.common.dedupe import DedupeStore, dedupe_from_settings
from connectors.common.webhook import DEFAULT_MAX_BODY, Rejected, bounded, customer_text
from connectors.twilio.api import DEFAULT_API_BASE_URL, make_client
from connectors.twilio.identity import conversation_id
from connectors.twilio.keywords import FEEDBACK_WORDS, START_WORDS, STOP_WORDS
from connectors.twilio.optout import OptOutStore
from connectors.twilio.webhook import TwilioWebhook, twiml
from connectors.whatsapp.output import WhatsAppOutput
from connectors.whatsapp.window import ServiceWindow

logger = logging.getLogger(__name__)

PREFIX = "whatsapp:"

REQUIRED = {
    "account_sid": "TWILIO_ACCOUNT_SID",
    "auth_token": "TWILIO_AUTH_TOKEN",
    "whatsapp_number": "TWILIO_WHATSAPP_NUMBER",
}
OPTIONAL: dict[str, Any] = {
    "public_url": "",
    "api_base_url": DEFAULT_API_BASE_URL,
    "stop_text": "You won't get more messages from Nimbus Home support. Send START to rejoin.",
    "start_text": "You're subscribed again. Write your question any time.",
    "media_text": "Sorry, I can only read text. Please type your question.",
    "optout_db": ".data/whatsapp_optout.sqlite",
    "window_db": ".data/whatsapp_window.sqlite",
    "dedupe_ttl": 24 * 3600,
    "dedupe_redis_url": "",
    "dedupe_db": "",
    "max_body_bytes": 64 * 1024,
    "send_attempts": 4,
    "conversation_key": "",
}


class WhatsAppInput(WebhookInput):
    channel_name = "whatsapp"
    REQUIRED = REQUIRED
    OPTIONAL = OPTIONAL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WhatsAppInput:
        settings = cls.settings(credentials)
        return cls(settings, dedupe_from_settings(settings, "whatsapp"))

    def __init__(self, settings: dict[str, Any], dedupe: DedupeStore | None = None) -> None:
        logmask.install([settings["auth_token"]], phones=True)
        super().__init__(dedupe, int(settings.get("max_body_bytes") or DEFAULT_MAX_BODY))
        self.settings = settings
        number = str(settings["whatsapp_number"])
        self.whatsapp_number = number if number.startswith(PREFIX) else PREFIX + number
        self.webhook = TwilioWebhook(
            settings["account_sid"],
            settings["auth_token"],
            str(settings.get("public_url") or ""),
            self.max_body_bytes,
        )
        self.conversation_key = str(settings.get("conversation_key") or settings["auth_token"])
        self.optouts = OptOutStore(str(settings.get("optout_db") or ":memory:"))
        self.window = ServiceWindow(str(settings.get("window_db") or ":memory:"))
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = make_client(
                self.settings["account_sid"],
                self.settings["auth_token"],
                str(self.settings.get("api_base_url") or DEFAULT_API_BASE_URL),
            )
        return self._client

    async def handle(
        self, params: dict[str, str], on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        media = self.webhook.check_fields(params)
        sid, sender = params["MessageSid"], params["From"]
        if not sender.startswith(PREFIX):
            raise Rejected(400, "not a WhatsApp sender")
        conversation = conversation_id(sender, self.conversation_key, "whatsapp")
        if not await self.first_seen(f"message:{sid}", conversation):
            return twiml([])
        self.window.customer_wrote(sender)
        body = (params.get("Body") or "").strip()
        keyword = body.upper().strip(" .!")
        if keyword in STOP_WORDS:
            self.optouts.opt_out(sender)
            logger.info("whatsapp: customer opted out (conversation %s)", conversation)
            return twiml([self.settings["stop_text"]])
        if keyword in START_WORDS - {"YES"}:  # YES is an SMS carrier keyword, a plain answer here
            self.optouts.opt_in(sender)
            return twiml([self.settings["start_text"]])
        if self.optouts.is_opted_out(sender):
            return twiml([])
        text = FEEDBACK_WORDS.get(keyword) or customer_text(body)
        if not text:
            return twiml([self.settings["media_text"]] if media else [])
        output = WhatsAppOutput(
            self.client,
            params.get("To") or self.whatsapp_number,
            sender,
            self.optouts,
            self.window,
            conversation,
            int(self.settings.get("send_attempts") or 4),
        )
        metadata = bounded({"whatsapp": {"num_media": params.get("NumMedia"), "message_sid": sid}})
        self.start_turn(on_new_message, output, text, conversation, message_id=sid, metadata=metadata)
        return twiml([])

    async def after_drain(self) -> None:
        if self._client is not None:
            await self._client.http_client.close()

    def add_routes(self, bp: Blueprint, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        async def webhook(request: Request) -> HTTPResponse:
            return await self.handle(self.webhook.verify(request), on_new_message)

        self.post(bp, "/webhook", webhook)
