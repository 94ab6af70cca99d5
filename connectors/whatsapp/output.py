"""Send WhatsApp replies through Twilio's Messages API, only inside the 24-hour window and
never to a customer who sent STOP."""

from __future__ import annotations

import logging
from typing import Any

from twilio.rest import Client

from connectors.common import handoff
from connectors.common.output import ChannelOutput
from connectors.twilio.api import send_message
from connectors.twilio.optout import OptOutStore
from connectors.whatsapp.window import ServiceWindow
from contract.limits import TWILIO_BODY_LIMIT
from contract.payloads import fallback_text

logger = logging.getLogger(__name__)


class WhatsAppOutput(ChannelOutput):
    channel_name = "whatsapp"

    def __init__(
        self,
        client: Client,
        sender: str,
        to: str,
        optouts: OptOutStore,
        window: ServiceWindow,
        conversation: str,
        attempts: int = 4,
    ) -> None:
        self.client = client
        self.sender = sender  # whatsapp:+1...
        self.to = to  # whatsapp:+1...
        self.optouts = optouts
        self.window = window
        self.conversation = conversation
        self.attempts = attempts

    async def _send(self, body: str) -> None:
        if self.optouts.is_opted_out(self.to):
            logger.info("whatsapp: reply suppressed, customer opted out (conversation %s)", self.conversation)
            return
        if not self.window.is_open(self.to):
            # WhatsApp would refuse it (error 63016); a template is the only way back in.
            logger.info(
                "whatsapp: reply not sent, outside the 24-hour customer-service window (conversation %s)",
                self.conversation,
            )
            return
        await send_message(
            self.client,
            to=self.to,
            from_=self.sender,
            body=body,
            conversation=self.conversation,
            attempts=self.attempts,
        )

    async def on_handoff(self, json_message: dict[str, Any]) -> None:
        # The agent answers on WhatsApp, so the team (not the logs) gets the number.
        await handoff.forward(json_message, self.conversation, contact={"phone": self.to})

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_split(text, TWILIO_BODY_LIMIT, self._send)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        options = "\n".join(f"{i + 1}. {b.get('title', '')}" for i, b in enumerate(buttons))
        await self.send_text_message(recipient_id, f"{text}\n{options}" if options else text)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, image)

    async def send_part(self, recipient_id: str, part: dict[str, Any], json_message: dict[str, Any]) -> None:
        text = part.get("text") if isinstance(part.get("text"), str) else fallback_text(json_message)
        if text:
            await self.send_text_message(recipient_id, text)
