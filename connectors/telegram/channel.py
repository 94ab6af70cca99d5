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

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot

from connectors.common import logmask
from connectors.common.credentials import ChannelConfigError, read_settings
from connectors.common.dedupe import DedupeStore, MemoryDedupe, dedupe_from_settings
from connectors.common.runner import TurnRunner
from connectors.common.webhook import (
    DEFAULT_MAX_BODY,
    Rejected,
    check_headers,
    check_size,
    guard_blueprint,
    media_type,
    parse_json_object,
    reject,
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


class TelegramInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> TelegramInput:
        settings = read_settings("telegram", credentials, REQUIRED, OPTIONAL)
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
        self.dedupe = dedupe or MemoryDedupe()
        self.max_body_bytes = max_body_bytes
        self.send_attempts = send_attempts
        self.runner = TurnRunner("telegram")
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

    def get_output_channel(self) -> None:
        return None

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
        if not await self.dedupe.first_seen(f"update:{uid}"):
            logger.info(
                "telegram: duplicate update %s dropped (conversation %s)", uid, action.sender_id or "-"
            )
            return
        if action.kind == "callback":
            self.runner.start(self._callback(action, on_new_message), action.sender_id or "-")
        elif action.kind == "notice":
            self.runner.start(self.output_for(action).notice(NOTICES[action.text]), action.sender_id)
        else:
            self.runner.start(self._turn(action, on_new_message), action.sender_id)

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
        turn = asyncio.ensure_future(self._turn(action, on_new_message, output))
        try:
            await asyncio.wait({turn}, timeout=CALLBACK_ANSWER_WITHIN)
        finally:
            await output.answer_callback()  # no-op if the turn already answered it
        await turn

    async def _turn(
        self,
        action: Action,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        output: TelegramOutput | None = None,
    ) -> None:
        output = output or self.output_for(action)
        await output.typing()  # before the turn, so "typing…" never shows after the answer
        typing = asyncio.get_running_loop().create_task(self._keep_typing(output))
        try:
            await on_new_message(
                UserMessage(
                    action.text,
                    output,
                    action.sender_id,
                    input_channel=self.name(),
                    message_id=action.message_id,
                    metadata=action.metadata,
                )
            )
        finally:
            typing.cancel()

    @staticmethod
    async def _keep_typing(output: TelegramOutput) -> None:
        # Telegram shows "typing…" for 5 s per call: repeat until the answer is sent.
        while True:
            await asyncio.sleep(4.5)
            await output.typing()

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

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("nimbus_telegram", __name__)
        guard_blueprint(bp, self.max_body_bytes)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            try:
                if self.mode != "webhook":
                    raise Rejected(404, "webhook disabled in polling mode")
                self._check_secret(request)
                body = check_size(request, self.max_body_bytes)
                if media_type(request) != "application/json":
                    raise Rejected(415, "unsupported content type")
                await self.handle_update(parse_json_object(body), on_new_message)
                return response.json({"ok": True})
            except Rejected as exc:
                return reject("telegram", exc, request)

        @bp.listener("after_server_start")
        async def start_polling(app: Any, _loop: Any) -> None:
            if self.mode == "polling":
                self._poller = asyncio.get_running_loop().create_task(self._poll(on_new_message))

        @bp.listener("before_server_stop")
        async def drain(app: Any, _loop: Any) -> None:
            if self._poller is not None:
                self._poller.cancel()
            await self.runner.drain()
            if self._bot is not None:
                await self._bot.request.shutdown()  # closes the API session

        return bp
