"""Send SMS replies: collected into TwiML while the webhook is still open, then through
the Messages API once the turn outlives the webhook."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

from rasa.core.channels.channel import OutputChannel
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from connectors.common import handoff
from connectors.common.delivery import TransientError, parse_retry_after, send_with_retry, split_text
from connectors.common.logmask import mask_phone
from connectors.common.payload import channel_part, fallback_text
from connectors.sms.optout import OptOutStore

logger = logging.getLogger(__name__)

SMS_LIMIT = 1600  # Twilio's maximum body; longer text is split
DEFAULT_API_BASE_URL = "https://api.twilio.com"
_retry_after: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "twilio_retry_after", default=None
)
_quiet = logging.getLogger("connectors.sms.twilio_http")
_quiet.setLevel(logging.WARNING)  # twilio logs request bodies (numbers, text) at INFO


class TwilioHttp(AsyncTwilioHttpClient):
    """Twilio's aiohttp client, pointed at a configurable API base and keeping Retry-After."""

    def __init__(self, base_url: str = DEFAULT_API_BASE_URL, timeout: float = 15) -> None:
        super().__init__(timeout=timeout, logger=_quiet)
        self.base_url = base_url.rstrip("/")

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(DEFAULT_API_BASE_URL):
            url = self.base_url + url[len(DEFAULT_API_BASE_URL) :]
        try:
            response = await super().request(method, url, *args, **kwargs)
        except (asyncio.TimeoutError, OSError) as exc:
            raise TransientError(f"network error {type(exc).__name__}") from None
        _retry_after.set(parse_retry_after((response.headers or {}).get("Retry-After")))
        return response


def make_client(account_sid: str, auth_token: str, base_url: str) -> Client:
    return Client(account_sid, auth_token, http_client=TwilioHttp(base_url))


class SmsOutput(OutputChannel):
    """Buffers while `collecting`; `release()` switches to the Messages API and flushes."""

    @classmethod
    def name(cls) -> str:
        return "sms"

    def __init__(
        self,
        client: Client,
        sender: str,
        to: str,
        optouts: OptOutStore,
        collecting: bool = True,
        attempts: int = 4,
        conversation: str = "",
    ) -> None:
        self.client = client
        self.sender = sender
        self.to = to
        self.optouts = optouts
        self.collecting = collecting
        self.attempts = attempts
        self.conversation = conversation or mask_phone(to)
        self.buffer: list[str] = []

    async def release(self) -> None:
        self.collecting = False
        pending, self.buffer = self.buffer, []
        for text in pending:
            await self._api_send(text)

    async def _emit(self, text: str) -> None:
        for part in split_text(text, SMS_LIMIT):
            if self.collecting:
                self.buffer.append(part)
            else:
                await self._api_send(part)

    async def _api_send(self, body: str) -> None:
        if self.optouts.is_opted_out(self.to):
            logger.info("sms: reply suppressed, customer opted out (conversation %s)", self.conversation)
            return

        async def create() -> Any:
            try:
                return await self.client.messages.create_async(to=self.to, from_=self.sender, body=body)
            except TwilioRestException as exc:
                if exc.status == 429 or exc.status >= 500:
                    raise TransientError(
                        f"Twilio HTTP {exc.status} ({exc.code})", _retry_after.get()
                    ) from None
                raise RuntimeError(f"Twilio HTTP {exc.status} error {exc.code}") from None

        await send_with_retry(
            create, what="twilio Messages.create", conversation=self.conversation, attempts=self.attempts
        )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._emit(text)

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        options = "\n".join(f"{i + 1}. {b.get('title', '')}" for i, b in enumerate(buttons))
        await self._emit(f"{text}\n{options}" if options else text)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._emit(image)

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        if handoff.is_handoff(json_message):
            # The agent answers by SMS, so the team (not the logs) gets the number.
            await handoff.forward(json_message, self.conversation, contact={"phone": self.to})
            if channel_part(json_message, "sms") is None:
                return  # nothing else in it for the customer
        if "feedback_ack" in json_message and channel_part(json_message, "sms") is None:
            return  # acknowledgements are for button presses, which SMS does not have
        part = channel_part(json_message, "sms")
        text = part.get("text") if part and isinstance(part.get("text"), str) else fallback_text(json_message)
        if text:
            await self._emit(text)
        else:
            logger.debug("sms: custom payload without an sms part ignored (keys %s)", sorted(json_message))
