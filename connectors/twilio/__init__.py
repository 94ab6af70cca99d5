"""What the Twilio channels (SMS, and WhatsApp through Twilio) share: the Messages API client
and its error classification (api.py), and the signed webhook with its field checks and
TwiML replies (webhook.py)."""
