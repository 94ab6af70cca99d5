"""Twilio SMS input channel: the shared Twilio webhook (connectors/twilio/), answered in
TwiML when the turn is quick and through the Messages API when it is not; HELP answered here.

Routes (prefix /webhooks/sms): GET / (health), POST /webhook.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sanic.response import HTTPResponse

from connectors.common.credentials import as_float
from connectors.common.dedupe import DedupeStore
from connectors.sms.output import SmsOutput
from connectors.twilio.channel import TWILIO_OPTIONAL, TWILIO_REQUIRED, OnNewMessage, TwilioInput
from connectors.twilio.keywords import HELP_WORDS
from connectors.twilio.webhook import twiml

REQUIRED = {**TWILIO_REQUIRED, "phone_number": "TWILIO_PHONE_NUMBER"}
OPTIONAL: dict[str, Any] = {
    **TWILIO_OPTIONAL,
    "reply_within": 4.0,
    "help_text": "Nimbus Home support: text your question and we'll answer from our help centre. "
    "Reply STOP to opt out. Msg&data rates may apply.",
    "stop_text": "You're unsubscribed from Nimbus Home support and won't get more messages. "
    "Reply START to rejoin.",
    "start_text": "You're subscribed again. Text your question any time.",
    "optout_db": ".data/sms_optout.sqlite",
}


class SmsInput(TwilioInput):
    channel_name = "sms"
    REQUIRED = REQUIRED
    OPTIONAL = OPTIONAL
    NUMBER = "phone_number"
    KEYWORD_TEXTS = dict.fromkeys(HELP_WORDS, "help_text")

    def __init__(self, settings: dict[str, Any], dedupe: DedupeStore | None = None) -> None:
        super().__init__(settings, dedupe)
        self.phone_number = self.number
        self.reply_within = as_float("sms", "reply_within", settings.get("reply_within", 4.0))

    def make_output(self, ours: str, customer: str, conversation: str) -> SmsOutput:
        return SmsOutput(
            self.client, ours, customer, self.optouts, attempts=self.attempts, conversation=conversation
        )

    def output_for_conversation(self, conversation_id: str) -> SmsOutput | None:
        output = super().output_for_conversation(conversation_id)
        if isinstance(output, SmsOutput):
            output.collecting = False  # no webhook to answer in: through the Messages API
        return output

    async def answer(
        self, on_new_message: OnNewMessage, output: SmsOutput, text: str, conversation: str, **options: Any
    ) -> HTTPResponse:
        task = self.start_turn(on_new_message, output, text, conversation, **options)
        done, _ = await asyncio.wait({task}, timeout=self.reply_within)
        if done:
            messages, output.buffer = output.buffer, []
            output.collecting = False
            return twiml(messages)
        # Too slow for Twilio's webhook: answer empty now, send the reply when it is ready.
        self.runner.start(output.release(), conversation)
        return twiml([])
