"""The input channel of every Twilio messaging product (SMS, WhatsApp): one signed webhook,
the same keywords, the same hashed conversation ids; a product says only how it answers.

Twilio posts every inbound message the same way whatever the product, so verifying,
parsing, dedupe, opt-out (STOP/START), the feedback digits, MORE and the polite reply to a
media-only message are written once here. A product subclass names its number setting
and address prefix, and decides in `answer` whether the reply goes back in the webhook's
TwiML (SMS, when the turn is quick) or through the Messages API (always on WhatsApp).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.common import logmask
from connectors.common.channel import WebhookInput
from connectors.common.dedupe import DedupeStore, dedupe_from_settings, default_dedupe_db
from connectors.common.webhook import DEFAULT_MAX_BODY, Rejected, bounded, customer_text
from connectors.twilio.api import DEFAULT_API_BASE_URL, make_client
from connectors.twilio.identity import conversation_id
from connectors.twilio.keywords import FEEDBACK_WORDS, START_WORDS, STOP_WORDS, more_keyword
from connectors.twilio.numbers import NumberMap
from connectors.twilio.optout import OptOutStore
from connectors.twilio.output import TwilioOutput
from connectors.twilio.webhook import TwilioWebhook, twiml

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# Settings every Twilio product takes (a product adds its own number and texts).
TWILIO_REQUIRED = {"account_sid": "TWILIO_ACCOUNT_SID", "auth_token": "TWILIO_AUTH_TOKEN"}
TWILIO_OPTIONAL: dict[str, Any] = {
    "public_url": "",
    "api_base_url": DEFAULT_API_BASE_URL,
    "media_text": "Sorry, I can only read text. Please type your question.",
    "dedupe_ttl": 24 * 3600,
    "dedupe_redis_url": "",
    "dedupe_db": "",  # default: dedupe.sqlite beside $TRACKER_DB; "memory" for none
    "max_body_bytes": 64 * 1024,
    "send_attempts": 4,
    # Key for the pseudonymous conversation ids (default: the auth token). Changing it
    # starts new conversations for every number.
    "conversation_key": "",
    # Numbers of handed-over conversations, sealed, to send agents' replies (numbers.py).
    # Default file: <channel>_numbers.sqlite beside the dedupe store; default key: the auth token.
    "number_map_db": "",
    "number_map_key": "",
}


class TwilioInput(WebhookInput):
    """Base of the Twilio channels; subclasses set the class attributes and `answer`."""

    NUMBER: ClassVar[str] = ""  # the settings key of our own number
    ADDRESS_PREFIX: ClassVar[str] = ""  # "whatsapp:" on WhatsApp, "" for a phone number
    START_WORDS: ClassVar[frozenset[str]] = frozenset(START_WORDS)
    # keyword -> settings key of the text answering it (HELP on SMS)
    KEYWORD_TEXTS: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TwilioInput:
        settings = cls.settings(credentials)
        return cls(settings, dedupe_from_settings(settings, cls.channel_name))

    def __init__(self, settings: dict[str, Any], dedupe: DedupeStore | None = None) -> None:
        logmask.install([settings["auth_token"]], phones=True)
        super().__init__(dedupe, int(settings.get("max_body_bytes") or DEFAULT_MAX_BODY))
        self.settings = settings
        self.account_sid = settings["account_sid"]
        number = str(settings[self.NUMBER])
        prefix = self.ADDRESS_PREFIX
        self.number = number if number.startswith(prefix) else prefix + number
        self.webhook = TwilioWebhook(
            self.account_sid,
            settings["auth_token"],
            str(settings.get("public_url") or ""),
            self.max_body_bytes,
        )
        self.conversation_key = str(settings.get("conversation_key") or settings["auth_token"])
        self.optouts = OptOutStore(str(settings.get("optout_db") or ":memory:"))
        self.attempts = int(settings.get("send_attempts") or 4)
        number_key = str(settings.get("number_map_key") or settings["auth_token"])
        logmask.install([number_key])
        default_map = Path(default_dedupe_db()).with_name(f"{self.channel_name}_numbers.sqlite")
        self.numbers = NumberMap(str(settings.get("number_map_db") or default_map), number_key)
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

    # --- the pieces a Twilio product fills in ----------------------------------------------

    def make_output(self, ours: str, customer: str, conversation: str) -> TwilioOutput:
        raise NotImplementedError

    async def answer(
        self, on_new_message: OnNewMessage, output: TwilioOutput, text: str, conversation: str, **options: Any
    ) -> HTTPResponse:
        """Run the turn and answer the webhook (TwiML with the reply, or empty)."""
        raise NotImplementedError

    def customer_wrote(self, address: str) -> None:
        """A genuine, first-seen message arrived from `address` (WhatsApp's window opens)."""

    # --- the skeleton ------------------------------------------------------------------------

    async def handle(self, params: dict[str, str], on_new_message: OnNewMessage) -> HTTPResponse:
        media = self.webhook.check_fields(params)
        sid, sender = params["MessageSid"], params["From"]
        if self.ADDRESS_PREFIX and not sender.startswith(self.ADDRESS_PREFIX):
            raise Rejected(400, f"not a {self.name()} sender")
        body = (params.get("Body") or "").strip()
        try:
            body.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: not text Twilio would send
            raise Rejected(400, "malformed Body") from None
        conversation = conversation_id(sender, self.conversation_key, self.name())
        if not await self.first_seen(f"message:{sid}", conversation):
            return twiml([])
        self.customer_wrote(sender)
        keyword = body.upper().strip(" .!")
        if keyword in STOP_WORDS:
            self.optouts.opt_out(sender)
            logger.info("%s: customer opted out (conversation %s)", self.name(), conversation)
            return twiml([self.settings["stop_text"]])
        if keyword in self.START_WORDS:
            self.optouts.opt_in(sender)
            return twiml([self.settings["start_text"]])
        if self.optouts.is_opted_out(sender):
            return twiml([])  # they asked us to stop: no reply of any kind
        if keyword in self.KEYWORD_TEXTS:
            return twiml([self.settings[self.KEYWORD_TEXTS[keyword]]])
        text = FEEDBACK_WORDS.get(keyword) or more_keyword(body) or customer_text(body)
        if not text:
            return twiml([self.settings["media_text"]] if media else [])
        output = self.make_output(params.get("To") or self.number, sender, conversation)
        output.numbers = self.numbers  # a handoff keeps the number, to send agents' replies
        metadata = bounded(
            {
                self.name(): {
                    "to": params.get("To") or self.number,
                    "from_country": params.get("FromCountry"),
                    "num_media": params.get("NumMedia"),
                    "message_sid": sid,
                }
            }
        )
        # The conversation id, never the number: it is logged and stored everywhere.
        return await self.answer(
            on_new_message, output, text, conversation, message_id=sid, metadata=metadata
        )

    def output_for_conversation(self, conversation_id: str) -> TwilioOutput | None:
        """Reaches a handed-over conversation at the number kept for it (None if there is none)."""
        number = (
            self.numbers.number(conversation_id) if conversation_id.startswith(f"{self.name()}:") else None
        )
        if number is None:
            return None
        return self.make_output(self.number, number, conversation_id)

    async def after_drain(self) -> None:
        if self._client is not None:
            await self._client.http_client.close()

    def add_routes(self, bp: Blueprint, on_new_message: OnNewMessage) -> None:
        async def webhook(request: Request) -> HTTPResponse:
            return await self.handle(self.webhook.verify(request), on_new_message)

        self.post(bp, "/webhook", webhook)
