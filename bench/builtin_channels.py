"""Rasa 3.6's built-in slack, telegram and twilio channels, aimed at the platform stand-ins.

The baseline for `bench.channels`. Loaded by the baseline Rasa server from the bench's
second credentials file, e.g. `bench.builtin_channels.SlackInput`. Each subclass changes
one thing: the base URL its platform client talks to (an extra `api_base_url` credential).
Everything else (routes, signature checks or their absence, when the webhook is
acknowledged, how replies are split and sent) is Rasa's own code, measured as it ships.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.bot.api import TelegramAPIServer
from aiogram.utils.exceptions import TelegramAPIError
from rasa.core.channels import slack, telegram, twilio
from rasa.shared.exceptions import RasaException
from slack_sdk.web.async_client import AsyncWebClient
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

TWILIO_API = "https://api.twilio.com"


def _with_base_url(channel: Any, credentials: dict[str, Any] | None) -> Any:
    channel.api_base_url = str((credentials or {}).get("api_base_url") or "")
    return channel


# --- Slack ---------------------------------------------------------------------------


class _SlackBot(slack.SlackBot):
    def __init__(self, token: str, *args: Any, api_base_url: str = "", **kwargs: Any) -> None:
        super().__init__(token, *args, **kwargs)
        self.client = AsyncWebClient(token, base_url=api_base_url, proxy=self.proxy)


class SlackInput(slack.SlackInput):
    api_base_url = ""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SlackInput:
        return _with_base_url(super().from_credentials(credentials), credentials)

    def get_output_channel(self, channel: str | None = None, thread_id: str | None = None) -> _SlackBot:
        return _SlackBot(
            self.slack_token,
            channel or self.slack_channel,
            thread_id,
            self.proxy,
            api_base_url=self.api_base_url,
        )


# --- Telegram (aiogram 2) ------------------------------------------------------------


class _TelegramOutput(telegram.TelegramOutput):
    def __init__(self, access_token: str, api_base_url: str) -> None:
        # TelegramOutput.__init__ only calls Bot.__init__(token); add the API server.
        telegram.Bot.__init__(self, access_token, server=TelegramAPIServer.from_base(api_base_url))


class TelegramInput(telegram.TelegramInput):
    api_base_url = ""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramInput:
        return _with_base_url(super().from_credentials(credentials), credentials)

    def get_output_channel(self) -> _TelegramOutput:
        # As Rasa's own: registers the webhook (setWebhook) while the server starts.
        channel = _TelegramOutput(self.access_token, self.api_base_url)
        try:
            asyncio.run(channel.set_webhook(url=self.webhook_url))
        except TelegramAPIError as error:
            raise RasaException("Failed to set channel webhook: " + str(error)) from error
        return channel


# --- Twilio (synchronous REST client) ------------------------------------------------


class _TwilioHttp(TwilioHttpClient):
    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


class _TwilioOutput(twilio.TwilioOutput):
    def __init__(self, account_sid: str, auth_token: str, twilio_number: str, api_base_url: str) -> None:
        super().__init__(account_sid, auth_token, twilio_number)
        self.http_client = _TwilioHttp(api_base_url)


class TwilioInput(twilio.TwilioInput):
    api_base_url = ""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TwilioInput:
        return _with_base_url(super().from_credentials(credentials), credentials)

    def get_output_channel(self) -> _TwilioOutput:
        return _TwilioOutput(self.account_sid, self.auth_token, self.twilio_number, self.api_base_url)
