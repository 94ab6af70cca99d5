"""Send SMS replies: collected into TwiML while the webhook is still open, then through
the Messages API once the turn outlives the webhook."""

from __future__ import annotations

import logging
from typing import Any

from twilio.rest import Client

from connectors.common import handoff
from connectors.common.logmask import mask_phone
from connectors.common.output import ChannelOutput
from connectors.twilio.api import send_message
from connectors.twilio.numbers import NumberMap
from connectors.twilio.optout import OptOutStore
from contract.limits import TWILIO_BODY_LIMIT
from contract.payloads import fallback_text

logger = logging.getLogger(__name__)

SMS_LIMIT = TWILIO_BODY_LIMIT  # longer text is split


class SmsOutput(ChannelOutput):
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
        numbers: NumberMap | None = None,
    ) -> None:
        self.numbers = numbers
        self.client = client
        self.sender = sender
        self.to = to
        self.optouts = optouts
        self.collecting = collecting
        self.attempts = attempts
        self.conversation = conversation or mask_phone(to)
        self.buffer: list[str] = []

    async def release(self) -> None:
        self.collecting = False
        pending, self.buffer = self.buffer, []
        for text in pending:
            await self._api_send(text)

    async def _emit(self, text: str) -> None:
        await self.send_split(text, SMS_LIMIT, self._emit_one)

    async def _emit_one(self, part: str) -> None:
        if self.collecting:
            self.buffer.append(part)
        else:
            await self._api_send(part)

    async def _api_send(self, body: str) -> None:
        if self.optouts.is_opted_out(self.to):
            logger.info("sms: reply suppressed, customer opted out (conversation %s)", self.conversation)
            return

        await send_message(
            self.client,
            to=self.to,
            from_=self.sender,
            body=body,
            conversation=self.conversation,
            attempts=self.attempts,
        )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._emit(text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        options = "\n".join(f"{i + 1}. {b.get('title', '')}" for i, b in enumerate(buttons))
        await self._emit(f"{text}\n{options}" if options else text)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._emit(image)

    async def on_handoff(self, json_message: dict[str, Any]) -> None:
        # Agents answer from the team's Slack thread, later: keep the number (encrypted) to
        # text their replies. The team (not the logs) also gets it, to call if need be.
        if self.numbers is not None:
            self.numbers.remember(self.conversation, self.to)
        await handoff.forward(json_message, self.conversation, contact={"phone": self.to})

    async def send_part(self, recipient_id: str, part: dict[str, Any], json_message: dict[str, Any]) -> None:
        text = part.get("text") if isinstance(part.get("text"), str) else fallback_text(json_message)
        if text:
            await self._emit(text)
        else:
            logger.debug("sms: custom payload without an sms part ignored (keys %s)", sorted(json_message))
