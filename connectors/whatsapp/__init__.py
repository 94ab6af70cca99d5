"""WhatsApp through Twilio (work in progress: not registered in credentials.yml yet)."""

from connectors.whatsapp.channel import WhatsAppInput

__all__ = ["WhatsAppInput"]
