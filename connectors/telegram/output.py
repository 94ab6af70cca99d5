"""Send Rasa's bot messages to one Telegram chat, as HTML, within Telegram's limits."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from connectors.common.delivery import TransientError, send_with_retry
from connectors.common.output import ChannelOutput
from connectors.telegram.format import (
    CALLBACK_DATA_LIMIT,
    MESSAGE_LIMIT,
    button_rows,
    escape,
    split_html,
    strip_tags,
    visible_length,
)

logger = logging.getLogger(__name__)

TYPING_REPEAT_SECONDS = 4.5  # Telegram shows "typing…" for 5 s per sendChatAction


class CallbackData:
    """Keeps callback_data within Telegram's 64 bytes: longer values travel as a short key."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._values: OrderedDict[str, str] = OrderedDict()
        self.max_entries = max_entries

    def pack(self, value: str) -> str:
        if len(value.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
            return value
        key = "k:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:40]
        self._values[key] = value
        self._values.move_to_end(key)
        while len(self._values) > self.max_entries:
            self._values.popitem(last=False)
        return key

    def unpack(self, data: str) -> str | None:
        if data.startswith("k:") and len(data) == 42:
            return self._values.get(data)
        return data


async def call_telegram(call):
    try:
        return await call()
    except RetryAfter as exc:
        wait = exc.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        raise TransientError("Telegram 429 Too Many Requests", seconds) from None
    except TimedOut:
        raise TransientError("Telegram API timed out") from None
    except BadRequest:
        raise
    except NetworkError as exc:  # includes 5xx answers ("Bad Gateway") and connection errors
        raise TransientError(f"Telegram network error: {exc}") from None


class TelegramOutput(ChannelOutput):
    channel_name = "telegram"

    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        conversation: str,
        reply_to: int | None = None,
        thread_id: int | None = None,
        callbacks: CallbackData | None = None,
        attempts: int = 4,
        callback_id: str | None = None,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.conversation = conversation
        self.reply_to = reply_to
        self.thread_id = thread_id
        self.callbacks = callbacks or CallbackData()
        self.attempts = attempts
        self.callback_id = callback_id  # the button press this turn answers, if any
        self._callback_answered = not callback_id
        self._quiet_since = time.monotonic()  # last "typing…" or message sent
        self._keeper: asyncio.Task[None] | None = None  # repeats "typing…" during a turn

    async def answer_callback(self, text: str | None = None) -> None:
        """Answer the pressed button once: with the bot's acknowledgement while it is
        still pending, otherwise quietly (Telegram keeps the button spinning until then)."""
        if self._callback_answered:
            return
        self._callback_answered = True
        try:
            await self.bot.answer_callback_query(self.callback_id, text=(text or None) and text[:200])
        except Exception as exc:  # noqa: BLE001 - a courtesy; the turn goes on
            logger.warning(
                "telegram: answerCallbackQuery failed (%s) in conversation %s",
                type(exc).__name__,
                self.conversation,
            )

    async def _send_html(self, html: str, markup: InlineKeyboardMarkup | None = None) -> None:
        self._quiet_since = time.monotonic()  # the next "typing…" only after a quiet spell
        kwargs: dict[str, Any] = {
            "chat_id": self.chat_id,
            "text": html,
            "parse_mode": ParseMode.HTML,
            "link_preview_options": LinkPreviewOptions(is_disabled=True),
        }
        if self.thread_id:
            kwargs["message_thread_id"] = self.thread_id
        if self.reply_to:
            kwargs["reply_parameters"] = ReplyParameters(self.reply_to, allow_sending_without_reply=True)
        if markup is not None:
            kwargs["reply_markup"] = markup

        async def send() -> Any:
            try:
                return await call_telegram(lambda: self.bot.send_message(**kwargs))
            except BadRequest as exc:
                if "parse entities" not in str(exc).lower():
                    raise
                # Broken markup from upstream: the words still matter more than the formatting.
                logger.warning(
                    "telegram: HTML rejected (%s); sending as plain text (conversation %s)",
                    exc,
                    self.conversation,
                )
                plain = {**kwargs, "text": strip_tags(html)[:MESSAGE_LIMIT]}
                plain.pop("parse_mode")
                return await call_telegram(lambda: self.bot.send_message(**plain))

        await send_with_retry(
            send, what="telegram sendMessage", conversation=self.conversation, attempts=self.attempts
        )

    async def send_html_parts(self, html: str, markup: InlineKeyboardMarkup | None = None) -> None:
        parts = split_html(html, MESSAGE_LIMIT)
        for index, part in enumerate(parts):
            await self._send_html(part, markup if index == len(parts) - 1 else None)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_split(text, MESSAGE_LIMIT, lambda part: self._send_html(escape(part)), visible_length)

    def _markup(self, rows: list[list[dict[str, str]]]) -> InlineKeyboardMarkup | None:
        keyboard = []
        for row in rows:
            buttons = []
            for button in row:
                if button.get("url"):
                    buttons.append(InlineKeyboardButton(button["text"][:64], url=button["url"]))
                else:
                    data = str(button.get("callback_data") or button["text"])
                    buttons.append(
                        InlineKeyboardButton(button["text"][:64], callback_data=self.callbacks.pack(data))
                    )
            keyboard.append(buttons)
        return InlineKeyboardMarkup(keyboard) if keyboard else None

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        rows = [
            [{"text": str(b.get("title", "")), "callback_data": str(b.get("payload", ""))}] for b in buttons
        ]
        await self.send_html_parts(escape(text), self._markup(rows))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._send_html(escape(image))

    async def on_feedback_ack(self, ack: Any) -> bool:
        # Shown as the button's toast if the press is still unanswered; never as a message.
        if not isinstance(ack, dict):
            return False
        await self.answer_callback(ack.get("text") if isinstance(ack.get("text"), str) else None)
        return True

    async def send_part(self, recipient_id: str, part: dict[str, Any], json_message: dict[str, Any]) -> None:
        html = part.get("html") if isinstance(part.get("html"), str) else ""
        if not html.strip() and isinstance(part.get("text"), str):
            html = escape(part["text"])
        if not html.strip():
            return
        await self.send_html_parts(html, self._markup(button_rows(part.get("buttons"))))

    async def typing(self) -> None:
        self._quiet_since = time.monotonic()
        try:
            await self.bot.send_chat_action(self.chat_id, ChatAction.TYPING, message_thread_id=self.thread_id)
        except Exception as exc:  # noqa: BLE001 - a courtesy, never worth failing the turn for
            logger.debug(
                "telegram: sendChatAction failed (%s) in conversation %s",
                type(exc).__name__,
                self.conversation,
            )

    @asynccontextmanager
    async def typing_while(self) -> AsyncIterator[None]:
        """The turn's indicator: "typing…" before the turn, repeated while it goes on with
        nothing sent for TYPING_REPEAT_SECONDS (Telegram shows it for 5 s per call and
        clears it when the answer arrives), so no repeat follows the turn's last message in
        the moment before the turn ends. Ending the turn stops the repeats without cutting
        off a call already on its way (a cancelled request reached the API half-sent)."""
        await self.typing()
        ended = asyncio.Event()
        self._keeper = asyncio.get_running_loop().create_task(self._keep_typing(ended))
        try:
            yield
        finally:
            ended.set()

    async def _keep_typing(self, ended: asyncio.Event) -> None:
        while True:
            quiet_since = self._quiet_since
            wait = quiet_since + TYPING_REPEAT_SECONDS - time.monotonic()
            try:
                await asyncio.wait_for(ended.wait(), timeout=max(0.0, wait))
                return
            except asyncio.TimeoutError:
                if self._quiet_since == quiet_since:  # nothing sent meanwhile
                    await self.typing()

    async def notice(self, text: str) -> None:
        await self._send_html(escape(text))
