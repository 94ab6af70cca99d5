"""Replies of every Twilio messaging product: the Messages API, split at Twilio's 1,600
characters, never to a customer who sent STOP; buttons become numbered options.

A product adds only what is its own: SMS collects the reply into the webhook's TwiML while
the webhook is open, WhatsApp checks the 24-hour customer-service window (`may_send`).
"""

from __future__ import annotations

import logging
from typing import Any

from twilio.rest import Client

from connectors.common import handoff
from connectors.common.output import ChannelOutput
from connectors.twilio.api import send_message
from connectors.twilio.numbers import NumberMap
from connectors.twilio.optout import OptOutStore
from contract.limits import TWILIO_BODY_LIMIT
from contract.payloads import fallback_text

logger = logging.getLogger(__name__)


class TwilioOutput(ChannelOutput):
    numbers: NumberMap | None = None  # set by the input channel for a customer's own turn

    def __init__(
        self, client: Client, sender: str, to: str, optouts: OptOutStore, conversation: str, attempts: int = 4
    ) -> None:
        self.client = client
        self.sender = sender  # our number (whatsapp:+1... on WhatsApp)
        self.to = to  # the customer's; only ever sent to Twilio and the team, never logged
        self.optouts = optouts
        self.conversation = conversation
        self.attempts = attempts

    def may_send(self) -> bool:
        """False (and logged why, without the number) when no free-form reply may go out."""
        if self.optouts.is_opted_out(self.to):
            logger.info(
                "%s: reply suppressed, customer opted out (conversation %s)", self.name(), self.conversation
            )
            return False
        return True

    async def deliver(self, body: str) -> None:
        """One message of at most TWILIO_BODY_LIMIT characters."""
        await self.api_send(body)

    async def api_send(self, body: str) -> None:
        if not self.may_send():
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
        await self.send_split(text, TWILIO_BODY_LIMIT, self.deliver)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        options = "\n".join(f"{i + 1}. {b.get('title', '')}" for i, b in enumerate(buttons))
        await self.send_text_message(recipient_id, f"{text}\n{options}" if options else text)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self.send_text_message(recipient_id, image)

    async def on_handoff(self, json_message: dict[str, Any]) -> None:
        # Agents answer later from the team's Slack thread: keep the number (sealed) to send
        # their replies. The team (not the logs) also gets it, to call if need be.
        if self.numbers is not None:
            self.numbers.remember(self.conversation, self.to)
        await handoff.forward(json_message, self.conversation, contact={"phone": self.to})

    async def send_part(self, recipient_id: str, part: dict[str, Any], json_message: dict[str, Any]) -> None:
        text = part.get("text") if isinstance(part.get("text"), str) else fallback_text(json_message)
        if text:
            await self.send_text_message(recipient_id, text)
        else:
            logger.debug("%s: payload part without text ignored (keys %s)", self.name(), sorted(json_message))
