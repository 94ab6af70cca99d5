"""What travels between the action server and the connectors, written once.

The two sides run under different interpreters (Rasa on 3.10, the action server on 3.11)
and meet only through Rasa's bot messages, so the payload shapes and the platforms'
limits are the one thing both must agree on. This package is that agreement: pure
Python with no third-party import, so either environment can import it.
"""

from contract.limits import (
    SLACK_MAX_BLOCKS,
    SLACK_SECTION_LIMIT,
    SLACK_TEXT_LIMIT,
    TELEGRAM_BUTTON_TEXT_LIMIT,
    TELEGRAM_CALLBACK_DATA_BYTES,
    TELEGRAM_MESSAGE_LIMIT,
    TWILIO_BODY_LIMIT,
)
from contract.payloads import (
    AGENT_MESSAGE,
    CHANNEL_PARTS,
    FEEDBACK_ACK,
    HANDOFF,
    SUGGESTIONS,
    agent_message,
    channel_part,
    fallback_text,
    feedback_ack,
    handoff,
    is_handoff,
    readable_text,
    slack_part,
    sms_part,
    suggestions,
    telegram_part,
    whatsapp_part,
)

__all__ = [
    "AGENT_MESSAGE",
    "CHANNEL_PARTS",
    "FEEDBACK_ACK",
    "HANDOFF",
    "SLACK_MAX_BLOCKS",
    "SLACK_SECTION_LIMIT",
    "SLACK_TEXT_LIMIT",
    "SUGGESTIONS",
    "TELEGRAM_BUTTON_TEXT_LIMIT",
    "TELEGRAM_CALLBACK_DATA_BYTES",
    "TELEGRAM_MESSAGE_LIMIT",
    "TWILIO_BODY_LIMIT",
    "agent_message",
    "channel_part",
    "fallback_text",
    "feedback_ack",
    "handoff",
    "is_handoff",
    "readable_text",
    "slack_part",
    "sms_part",
    "suggestions",
    "telegram_part",
    "whatsapp_part",
]
