"""Twilio's Messages API client, pointed at a configurable base and keeping Retry-After.

SMS and WhatsApp through Twilio send with the same `messages.create`; only the addresses
differ (`whatsapp:+1...`).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from connectors.common.delivery import TransientError, parse_retry_after, send_with_retry
from connectors.common.output import api_failure

DEFAULT_API_BASE_URL = "https://api.twilio.com"
_retry_after: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "twilio_retry_after", default=None
)
_quiet = logging.getLogger("connectors.twilio.http")
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


async def send_message(
    client: Client, *, to: str, from_: str, body: str, conversation: str, attempts: int
) -> Any:
    """One `Messages.create`, retried on 429/5xx/network; None (logged) when it gave up."""

    async def create() -> Any:
        try:
            return await client.messages.create_async(to=to, from_=from_, body=body)
        except TwilioRestException as exc:
            raise api_failure(
                exc.status,
                f"Twilio HTTP {exc.status} ({exc.code})",
                f"Twilio HTTP {exc.status} error {exc.code}",
                _retry_after.get(),
            ) from None

    return await send_with_retry(
        create, what="twilio Messages.create", conversation=conversation, attempts=attempts
    )
