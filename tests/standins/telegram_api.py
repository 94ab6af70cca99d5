"""A local stand-in for the Telegram Bot API (https://api.telegram.org/bot<token>/<method>)."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from tests.standins.http_standin import Failure, Recorded, StandIn

BOT_ID = 7000001
BOT_USERNAME = "nimbus_help_bot"


class TelegramStandIn(StandIn):
    def __init__(self, token: str = "123456:TEST-token") -> None:
        super().__init__()
        self.token = token
        self.webhook: dict[str, Any] = {}
        self.pending_updates: list[dict[str, Any]] = []  # served once by getUpdates (polling mode)
        self._message_ids = itertools.count(1000)

    @property
    def base_url(self) -> str:
        return self.url

    def route(self, path: str) -> str | None:
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0].startswith("bot"):
            return parts[1]
        return None

    def answer(self, record: Recorded) -> tuple[int, dict[str, Any]]:
        if record.path.strip("/").split("/")[0] != f"bot{self.token}":
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        method, params = record.method, record.params
        if method == "getMe":
            return 200, {
                "ok": True,
                "result": {"id": BOT_ID, "is_bot": True, "first_name": "Nimbus", "username": BOT_USERNAME},
            }
        if method == "sendMessage":
            text = params.get("text", "")
            if not text:
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message text is empty",
                }
            if len(text) > 4096 * 2 or (params.get("parse_mode") != "HTML" and len(text) > 4096):
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message is too long",
                }
            chat_id = int(params.get("chat_id"))
            return 200, {
                "ok": True,
                "result": {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Nimbus", "username": BOT_USERNAME},
                    "text": text,
                },
            }
        if method in ("sendChatAction", "answerCallbackQuery", "deleteWebhook"):
            return 200, {"ok": True, "result": True}
        if method == "setWebhook":
            self.webhook = dict(params)
            return 200, {"ok": True, "result": True, "description": "Webhook was set"}
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            ready = [u for u in self.pending_updates if u["update_id"] >= offset]
            if not ready:
                time.sleep(0.2)  # a (very) short long-poll
            return 200, {"ok": True, "result": ready}
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    @staticmethod
    def too_many_requests(retry_after: int = 1) -> Failure:
        return Failure(
            429,
            {},
            {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            },
        )

    def messages(self, chat_id: int | None = None) -> list[Recorded]:
        return self.calls("sendMessage", lambda r: chat_id is None or int(r.params.get("chat_id")) == chat_id)


def markup(record: Recorded) -> dict[str, Any] | None:
    value = record.params.get("reply_markup")
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else value
