"""The Bot API transport: python-telegram-bot's requests over aiohttp behave like its own."""

from __future__ import annotations

import asyncio
import socket

import pytest
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from connectors.telegram.channel import make_bot
from connectors.telegram.http import AiohttpRequest
from tests.standins.telegram_api import TelegramStandIn

TOKEN = "123456:TEST-token"


def send(bot: Bot, text: str) -> None:
    async def scenario() -> None:
        try:
            await bot.send_message(chat_id=7, text=text)
        finally:
            await bot.request.shutdown()

    asyncio.run(scenario())


def test_one_bot_keeps_working_across_event_loops():
    # Rasa's built-in Telegram channel breaks exactly here (a session bound to a closed loop).
    api = TelegramStandIn(TOKEN).start()
    try:
        bot = make_bot(TOKEN, api.base_url)
        for text in ("first", "second"):
            send(bot, text)
        assert [m.params["text"] for m in api.messages(7)] == ["first", "second"]
    finally:
        api.stop()


def test_unreachable_api_is_a_network_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes
    with pytest.raises(NetworkError, match="aiohttp"):
        send(make_bot(TOKEN, f"http://127.0.0.1:{port}/bot"), "hello")


def test_api_that_never_answers_times_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts connections, never answers
        port = silent.getsockname()[1]
        bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest(read_timeout=0.3))
        with pytest.raises(TimedOut):
            send(bot, "hello")


def test_uploads_go_through_python_telegram_bot_s_own_transport():
    api = TelegramStandIn(TOKEN).start()
    try:
        bot = make_bot(TOKEN, api.base_url)

        async def scenario() -> None:
            try:
                await bot.set_webhook("https://bot.example/webhooks/telegram/webhook", certificate=b"PEM")
            finally:
                await bot.request.shutdown()

        asyncio.run(scenario())
        (call,) = api.calls("setWebhook")
        assert call.headers["content-type"].startswith("multipart/form-data")
        assert call.params["url"] == "https://bot.example/webhooks/telegram/webhook"
        assert call.params["certificate"] == "PEM"
    finally:
        api.stop()
