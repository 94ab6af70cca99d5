"""Send Rasa's bot messages to one Slack conversation (channel + thread)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.core.channels.channel import OutputChannel
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from connectors.common import handoff
from connectors.common.delivery import TransientError, parse_retry_after, send_with_retry, split_text
from connectors.common.payload import channel_part, fallback_text
from connectors.slack.format import MAX_BLOCKS, TEXT_LIMIT, escape_mrkdwn

logger = logging.getLogger(__name__)

# How long the first reply waits for its "working on it" reaction to be added.
REACTION_WAIT_SECONDS = 2.0


async def call_slack(call: Callable[[], Awaitable[Any]]) -> Any:
    """Run one Web API call, classifying failures as transient (retry) or permanent."""
    try:
        return await call()
    except SlackApiError as exc:
        status = getattr(exc.response, "status_code", 0)
        error = (exc.response.data or {}).get("error") if isinstance(exc.response.data, dict) else None
        if status == 429 or status >= 500:
            headers = getattr(exc.response, "headers", {}) or {}
            retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
            raise TransientError(f"Slack API HTTP {status} {error or ''}".strip(), retry_after) from None
        raise RuntimeError(f"Slack API error {error or status}") from None
    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
        raise TransientError(f"network error {type(exc).__name__}") from None


class SlackOutput(OutputChannel):
    @classmethod
    def name(cls) -> str:
        return "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str | None,
        conversation: str,
        attempts: int = 4,
    ) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.conversation = conversation
        self.attempts = attempts
        self._reacting: asyncio.Future | None = None
        self._waited_for_reaction = False

    def react_meanwhile(self, name: str, ts: str) -> None:
        """Add the "working on it" reaction while the turn is processed, not before it.

        Awaiting it first delayed every answer by a Web API round trip (p50 49 ms at 64
        conversations). The first reply still waits for it, so the reaction never
        appears after the answer it announces.
        """
        self._reacting = asyncio.ensure_future(self.add_reaction(name, ts))

    async def reaction_added(self) -> None:
        """Wait for the reaction, once per turn and never longer than `REACTION_WAIT_SECONDS`."""
        if self._reacting is None or self._reacting.done() or self._waited_for_reaction:
            return
        self._waited_for_reaction = True  # the later parts of a long answer do not wait again
        try:
            await asyncio.wait_for(asyncio.shield(self._reacting), REACTION_WAIT_SECONDS)
        except asyncio.TimeoutError:
            logger.debug("slack: reaction pending; replying anyway (conversation %s)", self.conversation)
        except Exception:  # noqa: BLE001 - a courtesy; its failure must not stop the answer
            logger.debug("slack: reaction failed in conversation %s", self.conversation, exc_info=True)

    async def _post(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        await self.reaction_added()
        kwargs: dict[str, Any] = {"channel": self.channel, "text": text}
        if self.thread_ts:
            kwargs["thread_ts"] = self.thread_ts
        if blocks:
            kwargs["blocks"] = blocks
        await send_with_retry(
            lambda: call_slack(lambda: self.client.chat_postMessage(**kwargs)),
            what="slack chat.postMessage",
            conversation=self.conversation,
            attempts=self.attempts,
        )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        for part in split_text(escape_mrkdwn(text), TEXT_LIMIT):
            await self._post(part)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        elements = [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": str(b.get("title", ""))[:75] or "?"},
                "value": str(b.get("payload", ""))[:2000],
                "action_id": f"button_{i}",
            }
            for i, b in enumerate(buttons[:25])
        ]
        parts = split_text(escape_mrkdwn(text), TEXT_LIMIT) or [""]
        for part in parts[:-1]:
            await self._post(part)
        blocks: list[dict[str, Any]] = []
        if parts[-1]:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": parts[-1]}})
        blocks.append({"type": "actions", "elements": elements})
        await self._post(parts[-1] or "Choose an option", blocks)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._post(image, [{"type": "image", "image_url": image, "alt_text": "image"}])

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        if handoff.is_handoff(json_message):
            # The action server already told the team; the payload is not for the customer.
            if channel_part(json_message, "slack") is None:
                return  # nothing else in it for the customer
        if "feedback_ack" in json_message and channel_part(json_message, "slack") is None:
            return  # a press needs no chat message; Slack already shows the click
        part = channel_part(json_message, "slack")
        if part is None:
            text = fallback_text(json_message)
            if text:
                await self.send_text_message(recipient_id, text)
            else:
                logger.debug(
                    "slack: custom payload without a slack part ignored (keys %s)", sorted(json_message)
                )
            return
        text = part.get("text") if isinstance(part.get("text"), str) else ""
        blocks = part.get("blocks") if isinstance(part.get("blocks"), list) else []
        if not blocks:
            for piece in split_text(text, TEXT_LIMIT):
                await self._post(piece)
            return
        # The renderer's text is the notification/accessibility fallback for the blocks.
        fallback = split_text(text, TEXT_LIMIT)[0] if text.strip() else "New message"
        for start in range(0, len(blocks), MAX_BLOCKS):
            await self._post(fallback, blocks[start : start + MAX_BLOCKS])

    async def end_reaction(self, name: str, ts: str) -> None:
        """Remove the reaction once its addition is over, however long that took: removed
        first, a late `reactions.add` would leave it on the message for good."""
        if self._reacting is not None:
            await asyncio.gather(self._reacting, return_exceptions=True)
        await self.remove_reaction(name, ts)

    async def add_reaction(self, name: str, ts: str) -> None:
        await self._reaction("reactions_add", name, ts)

    async def remove_reaction(self, name: str, ts: str) -> None:
        await self._reaction("reactions_remove", name, ts)

    async def _reaction(self, method: str, name: str, ts: str) -> None:
        # A reaction is a courtesy: one quick try, never worth delaying the answer for.
        try:
            await getattr(self.client, method)(channel=self.channel, timestamp=ts, name=name)
        except SlackApiError as exc:
            error = exc.response.data.get("error") if isinstance(exc.response.data, dict) else "error"
            logger.debug("slack: %s failed (%s) in conversation %s", method, error, self.conversation)
        except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
            logger.debug(
                "slack: %s failed (%s) in conversation %s", method, type(exc).__name__, self.conversation
            )
