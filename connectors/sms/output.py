"""Send SMS replies: collected into TwiML while the webhook is still open, then through
the Messages API (connectors/twilio/output.py) once the turn outlives the webhook."""

from __future__ import annotations

from twilio.rest import Client

from connectors.common.logmask import mask_phone
from connectors.twilio.optout import OptOutStore
from connectors.twilio.output import TwilioOutput
from contract.limits import TWILIO_BODY_LIMIT

SMS_LIMIT = TWILIO_BODY_LIMIT  # longer text is split


class SmsOutput(TwilioOutput):
    """Buffers while `collecting`; `release()` switches to the Messages API and flushes."""

    channel_name = "sms"

    def __init__(
        self,
        client: Client,
        sender: str,
        to: str,
        optouts: OptOutStore,
        collecting: bool = True,
        attempts: int = 4,
        conversation: str = "",
    ) -> None:
        super().__init__(client, sender, to, optouts, conversation or mask_phone(to), attempts)
        self.collecting = collecting
        self.buffer: list[str] = []

    async def release(self) -> None:
        self.collecting = False
        pending, self.buffer = self.buffer, []
        for text in pending:
            await self.api_send(text)

    async def deliver(self, body: str) -> None:
        if self.collecting:
            self.buffer.append(body)
        else:
            await self.api_send(body)
