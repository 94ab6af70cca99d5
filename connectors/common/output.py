"""The output skeleton every platform shares: what to do with each kind of custom payload,
which API failures are worth a retry, and sending a long text as several messages.

The action server's renderers send one custom payload per reply (see `contract/`); the
decisions about it are the same on every channel: a handoff notice is for the team, a
feedback acknowledgement answers a button press, the channel's own part is sent, and a
payload without one falls back to its plain text. A platform subclass says only how to
send its part (`send_part`) and, if it has them, how it forwards a handoff or shows an
acknowledgement.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import aiohttp
from rasa.core.channels.channel import OutputChannel

from connectors.common import handoff
from connectors.common.delivery import TransientError, split_text
from contract.payloads import channel_part, fallback_text

logger = logging.getLogger(__name__)

# Failures of the connection itself: always worth another try.
NETWORK_ERRORS: tuple[type[BaseException], ...] = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)


def is_transient(status: int) -> bool:
    """Rate limits and server errors pass; anything else (4xx) will fail the same way again."""
    return status == 429 or status >= 500


def api_failure(status: int, transient: str, permanent: str, retry_after: float | None = None) -> Exception:
    """The exception for a platform API error: `TransientError` (retried) or a permanent one."""
    if is_transient(status):
        return TransientError(transient, retry_after)
    return RuntimeError(permanent)


class ChannelOutput(OutputChannel):
    """Dispatches custom payloads; subclasses set `channel_name` and implement `send_part` (and
    `send_text_message`)."""

    channel_name: ClassVar[str] = ""

    @classmethod
    def name(cls) -> str:
        return cls.channel_name

    async def send_part(self, recipient_id: str, part: dict[str, Any], json_message: dict[str, Any]) -> None:
        """Send this channel's own part of a renderer's payload."""
        raise NotImplementedError

    async def on_handoff(self, json_message: dict[str, Any]) -> None:
        """A conversation went to a person; by default the action server already told the team."""

    async def on_feedback_ack(self, ack: Any) -> bool:
        """A feedback press was recorded; True when nothing more needs saying in the chat."""
        return True

    async def send_split(
        self,
        text: str,
        limit: int,
        send_one: Callable[[str], Awaitable[Any]],
        length: Callable[[str], int] = len,
    ) -> None:
        """A long text as several messages, split at the most natural boundary."""
        for piece in split_text(text, limit, length):
            await send_one(piece)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        part = channel_part(json_message, self.name())
        if handoff.is_handoff(json_message):
            await self.on_handoff(json_message)
            if part is None:
                return  # nothing else in it for the customer
        if "feedback_ack" in json_message:
            if await self.on_feedback_ack(json_message["feedback_ack"]) and part is None:
                return  # a press needs no chat message
        if part is None:
            text = fallback_text(json_message)
            if text:
                await self.send_text_message(recipient_id, text)
            else:
                logger.debug(
                    "%s: custom payload without a %s part ignored (keys %s)",
                    self.name(),
                    self.name(),
                    sorted(json_message),
                )
            return
        await self.send_part(recipient_id, part, json_message)
