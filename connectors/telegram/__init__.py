"""Telegram channel: `connectors.telegram.TelegramInput` in credentials.yml."""

from connectors.telegram.channel import TelegramInput
from connectors.telegram.output import TelegramOutput

__all__ = ["TelegramInput", "TelegramOutput"]
