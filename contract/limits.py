"""The platforms' limits that the renderers (which shape a reply) and the connectors (which
split and send it) must both respect; one number each, so the two sides cannot drift."""

from __future__ import annotations

# Telegram Bot API: sendMessage text, after entity parsing (visible characters).
TELEGRAM_MESSAGE_LIMIT = 4096
# Telegram Bot API: an inline button's callback_data, in bytes (UTF-8).
TELEGRAM_CALLBACK_DATA_BYTES = 64
# Longer button labels are cut by the connector; Telegram itself shows about this much.
TELEGRAM_BUTTON_TEXT_LIMIT = 64

# Twilio Messages API: the largest Body of one message (SMS and WhatsApp).
TWILIO_BODY_LIMIT = 1600

# Slack chat.postMessage: a message's text (Slack truncates at 40k but advises under 4k).
SLACK_TEXT_LIMIT = 3900
# Slack Block Kit: blocks per message, and characters in one section's text.
SLACK_MAX_BLOCKS = 50
SLACK_SECTION_LIMIT = 3000
