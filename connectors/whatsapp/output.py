"""WhatsApp replies: the Twilio output (connectors/twilio/output.py), sent only inside the
customer-service window."""

from __future__ import annotations

import logging
from typing import Any

from connectors.twilio.output import TwilioOutput
from connectors.whatsapp.window import ServiceWindow

logger = logging.getLogger(__name__)


class WhatsAppOutput(TwilioOutput):
    channel_name = "whatsapp"

    def __init__(self, window: ServiceWindow, *twilio_args: Any, **twilio_kwargs: Any) -> None:
        """`window` first, then `TwilioOutput`'s own arguments."""
        super().__init__(*twilio_args, **twilio_kwargs)
        self.window = window

    def may_send(self) -> bool:
        if not super().may_send():
            return False
        if not self.window.is_open(self.to):
            # WhatsApp refuses it (error 63016): only an approved template may reopen the
            # conversation, and the bot has none to send.
            logger.info(
                "whatsapp: reply not sent, outside the 24-hour customer-service window (conversation %s)",
                self.conversation,
            )
            return False
        return True
