"""WhatsApp through Twilio: the same signed webhook and Messages API as SMS
(connectors/twilio/), acknowledged at once with empty TwiML and answered through the API,
and only within WhatsApp's 24-hour customer-service window.

Routes (prefix /webhooks/whatsapp): GET / (health), POST /webhook.
"""

from __future__ import annotations

from typing import Any

from sanic.response import HTTPResponse

from connectors.common.dedupe import DedupeStore
from connectors.twilio.channel import TWILIO_OPTIONAL, TWILIO_REQUIRED, OnNewMessage, TwilioInput
from connectors.twilio.keywords import START_WORDS
from connectors.twilio.webhook import twiml
from connectors.whatsapp.output import WhatsAppOutput
from connectors.whatsapp.window import ServiceWindow

PREFIX = "whatsapp:"

REQUIRED = {**TWILIO_REQUIRED, "whatsapp_number": "TWILIO_WHATSAPP_NUMBER"}
OPTIONAL: dict[str, Any] = {
    **TWILIO_OPTIONAL,
    "stop_text": "You won't get more messages from Nimbus Home support. Send START to rejoin.",
    "start_text": "You're subscribed again. Write your question any time.",
    "optout_db": ".data/whatsapp_optout.sqlite",
    "window_db": ".data/whatsapp_window.sqlite",
}


class WhatsAppInput(TwilioInput):
    channel_name = "whatsapp"
    REQUIRED = REQUIRED
    OPTIONAL = OPTIONAL
    NUMBER = "whatsapp_number"
    ADDRESS_PREFIX = PREFIX
    START_WORDS = frozenset(START_WORDS - {"YES"})  # YES is an SMS carrier keyword, an answer here

    def __init__(self, settings: dict[str, Any], dedupe: DedupeStore | None = None) -> None:
        super().__init__(settings, dedupe)
        self.whatsapp_number = self.number
        self.window = ServiceWindow(str(settings.get("window_db") or ":memory:"))

    def customer_wrote(self, address: str) -> None:
        self.window.customer_wrote(address)

    def make_output(self, ours: str, customer: str, conversation: str) -> WhatsAppOutput:
        return WhatsAppOutput(
            self.window, self.client, ours, customer, self.optouts, conversation, self.attempts
        )

    async def answer(
        self,
        on_new_message: OnNewMessage,
        output: WhatsAppOutput,
        text: str,
        conversation: str,
        **options: Any,
    ) -> HTTPResponse:
        # WhatsApp replies always go through the API: acknowledge now, answer when ready.
        self.start_turn(on_new_message, output, text, conversation, **options)
        return twiml([])
