"""WhatsApp through Twilio: `connectors.whatsapp.WhatsAppInput` in credentials.yml."""

from connectors.whatsapp.channel import WhatsAppInput
from connectors.whatsapp.output import WhatsAppOutput

__all__ = ["WhatsAppInput", "WhatsAppOutput"]
