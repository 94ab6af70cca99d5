"""Rasa input channels for Slack, Telegram and SMS (Twilio), loaded from credentials.yml.

`common/` holds what every channel needs (verification helpers, dedupe, background turns,
delivery with retries, credential checks, log masking); each platform package holds only
what is specific to that platform.
"""
