"""Telegram input channel: secret-token webhook (or long polling), deduped by update_id,
acknowledged at once, answered in the background with a typing indicator.

Routes (prefix /webhooks/telegram): GET / (health), POST /webhook.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot

from connectors.common import logmask
from connectors.common.channel import WebhookInput
from connectors.common.credentials import ChannelConfigError
from connectors.common.dedupe import DedupeStore, dedupe_from_settings
from connectors.common.webhook import (
    DEFAULT_MAX_BODY,
    Rejected,
    check_headers,
    check_size,
    media_type,
    parse_json_object,
)
from connectors.telegram.http import AiohttpRequest
from connectors.telegram.output import CallbackData, TelegramOutput
from connectors.telegram.updates import Action, classify, update_id

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org"
# A pressed button spins until answered: wait this long for the bot's own acknowledgement
# (the feedback "thanks" toast), then answer it plainly and let the turn finish.
CALLBACK_ANSWER_WITHIN = 2.5
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
NOTICES = {
    "non_text": "Sorry, I can only read text messages. Please type your question.",
    "unknown_command": "I don't know that command. Just type your question, or send /help.",
}

REQUIRED = {"token": "TELEGRAM_BOT_TOKEN"}
OPTIONAL: dict[str, Any] = {
    "webhook_secret": "",
    "base_url": DEFAULT_BASE_URL,
    "webhook_url": "",
    "mode": "webhook",
    "bot_username": "",
    "dedupe_ttl": 24 * 3600,
    "dedupe_redis_url": "",
    "dedupe_db": "",  # default: dedupe.sqlite beside $TRACKER_DB; "memory" for none
    "max_body_bytes": DEFAULT_MAX_BODY,
    "send_attempts": 4,
}


def make_bot(token: str, base_url: str) -> Bot:
    root = base_url.rstrip("/")
    if root.endswith("/bot"):
        root = root[: -len("/bot")]
    return Bot(token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot", request=AiohttpRequest())


class TelegramInput(WebhookInput):
    channel_name = "telegram"
    REQUIRED = REQUIRED
    OPTIONAL = OPTIONAL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramInput:
        settings = cls.settings(credentials)
        mode = str(settings["mode"]).lower()
        if mode not in ("webhook", "polling"):
            raise ChannelConfigError("telegram channel: 'mode' must be 'webhook' or 'polling'")
        if mode == "webhook" and not str(settings["webhook_secret"]).strip():
            raise ChannelConfigError(
                "telegram channel: 'webhook_secret' is missing or empty in credentials.yml "
                "(set the environment variable TELEGRAM_WEBHOOK_SECRET)"
            )
        return cls(
            token=settings["token"],
            webhook_secret=str(settings["webhook_secret"]),
            base_url=str(settings["base_url"]),
            mode=mode,
            bot_username=str(settings["bot_username"] or "").lstrip("@") or None,
            dedupe=dedupe_from_settings(settings, "telegram"),
            max_body_bytes=int(settings["max_body_bytes"]),
            send_attempts=int(settings["send_attempts"]),
        )

    def __init__(
        self,
        token: str,
        webhook_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        mode: str = "webhook",
        bot_username: str | None = None,
        dedupe: DedupeStore | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY,
        send_attempts: int = 4,
    ) -> None:
        logmask.install([token, webhook_secret])
        self.token = token
        self.webhook_secret = webhook_secret
        self.base_url = base_url
        self.mode = mode
        self.bot_username = bot_username
        self.bot_id: int | None = None
        super().__init__(dedupe, max_body_bytes)
        self.send_attempts = send_attempts
        self.callbacks = CallbackData()
        self._bot: Bot | None = None
        self._identity_lock: asyncio.Lock | None = None
        self._poller: asyncio.Task | None = None

    @property
    def bot(self) -> Bot:
        if self._bot is None:
            self._bot = make_bot(self.token, self.base_url)
        return self._bot

    async def identity(self) -> None:
        """Learn the bot's id and @username (getMe) once; groups need them to spot mentions."""
        if self.bot_id is not None:
            return
        if self._identity_lock is None:
            self._identity_lock = asyncio.Lock()
        async with self._identity_lock:
            if self.bot_id is not None:
                return
            try:
                me = await self.bot.get_me()
            except Exception as exc:  # noqa: BLE001 - retried on the next update
                logger.warning(
                    "telegram: getMe failed (%s); group mentions cannot be recognised yet", type(exc).__name__
                )
                return
            self.bot_id = me.id
            self.bot_username = self.bot_username or me.username

    def output_for(self, action: Action) -> TelegramOutput:
        assert action.chat_id is not None
        return TelegramOutput(
            self.bot,
            action.chat_id,
            action.sender_id,
            action.reply_to,
            action.thread_id,
            self.callbacks,
            self.send_attempts,
            callback_id=action.callback_id or None,
        )

    def output_for_conversation(self, conversation_id: str) -> TelegramOutput | None:
        """`telegram:<chat>[:<topic>]`: the chat (and forum topic) the id names."""
        parts = conversation_id.split(":")
        try:
            chat_id = int(parts[1])
            thread_id = int(parts[2]) if len(parts) > 2 else None
        except (IndexError, ValueError):
            return None
        if parts[0] != self.name() or len(parts) > 3:
            return None
        return TelegramOutput(
            self.bot, chat_id, conversation_id, None, thread_id, self.callbacks, self.send_attempts
        )

    def _check_secret(self, request: Request) -> None:
        check_headers(request)
        sent = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        if not sent:
            raise Rejected(401, "missing X-Telegram-Bot-Api-Secret-Token")
        if not hmac.compare_digest(sent.encode("utf-8", "replace"), self.webhook_secret.encode("utf-8")):
            raise Rejected(401, "wrong secret token")

    async def handle_update(
        self, update: dict[str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Process one update (webhook or polling); returns as soon as the turn is scheduled."""
        uid = update_id(update)
        action = self._classify(update)  # validates before any API call
        chat = update["message"].get("chat") if isinstance(update.get("message"), dict) else None
        if self.bot_id is None and isinstance(chat, dict) and chat.get("type") != "private":
            await self.identity()  # groups: mentions and replies can only be recognised knowing who we are
            action = self._classify(update)
        if action.kind == "ignore":
            return
        if not await self.first_seen(f"update:{uid}", action.sender_id or "-"):
            return
        if action.kind == "callback":
            self.runner.start(self._callback(action, on_new_message), action.sender_id or "-")
        elif action.kind == "notice":
            self.runner.start(self.output_for(action).notice(NOTICES[action.text]), action.sender_id)
        else:
            output = self.output_for(action)
            self.start_turn(
                on_new_message,
                output,
                action.text,
                action.sender_id,
                message_id=action.message_id,
                metadata=action.metadata,
                indicator=output.typing_while(),
            )

    def _classify(self, update: dict[str, Any]) -> Action:
        try:
            return classify(update, self.bot_username, self.bot_id)
        except (AttributeError, TypeError, ValueError, KeyError):
            raise Rejected(400, "malformed update") from None  # a field of the wrong type

    async def _callback(
        self, action: Action, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        # Every press is answered, or the user's button spins until Telegram gives up.
        text = self.callbacks.unpack(action.text) if action.chat_id is not None and action.text else None
        if text is None:
            if action.text:
                logger.info("telegram: expired button pressed (conversation %s)", action.sender_id or "-")
            try:
                await self.bot.answer_callback_query(action.callback_id)
            except Exception as exc:  # noqa: BLE001
                logger.warning(
                    "telegram: answerCallbackQuery failed (%s) in conversation %s",
                    type(exc).__name__,
                    action.sender_id or "-",
                )
            return
        action.text = text
        output = self.output_for(action)
        turn = asyncio.ensure_future(
            self.turn(
                on_new_message,
                output,
                text,
                action.sender_id,
                message_id=action.message_id,
                metadata=action.metadata,
                indicator=output.typing_while(),
            )
        )
        try:
            await asyncio.wait({turn}, timeout=CALLBACK_ANSWER_WITHIN)
        finally:
            await output.answer_callback()  # no-op if the turn already answered it
        await turn

    async def _poll(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Development mode: long polling instead of a public webhook URL."""
        await self.bot.delete_webhook()
        offset = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=25, allowed_updates=ALLOWED_UPDATES
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                logger.warning("telegram: polling failed (%s); retrying in 5 s", type(exc).__name__)
                await asyncio.sleep(5)
                continue
            for update in updates:
                offset = max(offset, update.update_id + 1)
                try:
                    await self.handle_update(update.to_dict(), on_new_message)
                except Rejected as exc:
                    logger.info("telegram: ignored polled update: %s", exc.reason)

    def add_routes(self, bp: Blueprint, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        async def webhook(request: Request) -> HTTPResponse:
            if self.mode != "webhook":
                raise Rejected(404, "webhook disabled in polling mode")
            self._check_secret(request)
            body = check_size(request, self.max_body_bytes)
            if media_type(request) != "application/json":
                raise Rejected(415, "unsupported content type")
            await self.handle_update(parse_json_object(body), on_new_message)
            return response.json({"ok": True})

        self.post(bp, "/webhook", webhook)

    async def on_start(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        if self.mode == "polling":
            self._poller = asyncio.get_running_loop().create_task(self._poll(on_new_message))

    async def before_drain(self) -> None:
        if self._poller is not None:
            self._poller.cancel()

    async def after_drain(self) -> None:
        if self._bot is not None:
            await self._bot.request.shutdown()  # closes the API session
