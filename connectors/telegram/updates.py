"""Decide what each Telegram update means for the bot.

Private chats are always answered; in groups the bot speaks only when mentioned or
replied to. Commands map to intents; non-text messages get a short polite reply where a
reply makes sense (private chats) and silence elsewhere; service updates are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from connectors.common.webhook import Rejected, bounded, customer_text, ensure_clean_text

PRIVATE = "private"
GROUPS = ("group", "supergroup")

# Command -> text handed to Rasa. "/greet" is Rasa's syntax for "this intent, no NLU".
COMMANDS = {"start": "/greet", "help": "/greet"}
NON_TEXT = (
    "photo",
    "sticker",
    "voice",
    "video",
    "video_note",
    "audio",
    "document",
    "animation",
    "location",
    "contact",
    "poll",
    "dice",
    "venue",
    "game",
)


@dataclass
class Action:
    """What to do with an update. kind: 'turn', 'notice' (fixed reply), 'callback', 'ignore'."""

    kind: str
    chat_id: int | None = None
    text: str = ""
    sender_id: str = ""
    message_id: str = ""
    reply_to: int | None = None
    thread_id: int | None = None
    callback_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def update_id(update: dict[str, Any]) -> int:
    value = _int(update.get("update_id"))
    if value is None:
        raise Rejected(400, "update without integer update_id")
    return value


def _conversation(chat_id: int, thread_id: int | None) -> str:
    return f"telegram:{chat_id}" + (f":{thread_id}" if thread_id else "")


def _user_name(user: dict[str, Any]) -> str | None:
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if isinstance(p, str) and p)
    return name or (user.get("username") if isinstance(user.get("username"), str) else None)


def _meta(chat: dict[str, Any], user: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    # Bounded: it is stored with every user event, and names and titles are free text.
    return bounded(
        {
            "telegram": {
                "chat_id": chat.get("id"),
                "chat_type": chat.get("type"),
                "chat_title": chat.get("title"),
                "user_id": user.get("id"),
                "user_name": _user_name(user),
                "username": user.get("username"),
                "language_code": user.get("language_code"),
                "message_id": message.get("message_id"),
                "thread_id": message.get("message_thread_id"),
            }
        }
    )


def _addressed_in_group(
    message: dict[str, Any], text: str, bot_username: str | None, bot_id: int | None
) -> tuple[bool, str]:
    reply = message.get("reply_to_message")
    if isinstance(reply, dict) and bot_id is not None and (reply.get("from") or {}).get("id") == bot_id:
        return True, text
    if bot_username:
        pattern = re.compile(rf"@{re.escape(bot_username)}\b", re.IGNORECASE)
        if pattern.search(text):
            return True, pattern.sub(" ", text).strip()
    return False, text


def classify(update: dict[str, Any], bot_username: str | None, bot_id: int | None) -> Action:
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        return _callback(callback)
    message = update.get("message")
    if not isinstance(message, dict):
        return Action("ignore")  # edited messages, channel posts, member updates, polls...
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else None
    user = message.get("from") if isinstance(message.get("from"), dict) else {}
    chat_id = _int((chat or {}).get("id"))
    if chat is None or chat_id is None:
        raise Rejected(400, "message without chat id")
    if user.get("is_bot"):
        return Action("ignore")
    chat_type = chat.get("type")
    thread_id = _int(message.get("message_thread_id")) if message.get("is_topic_message") else None
    base = dict(
        chat_id=chat_id,
        sender_id=_conversation(chat_id, thread_id),
        message_id=f"{chat_id}:{message.get('message_id')}",
        thread_id=thread_id,
        metadata=_meta(chat, user, message),
    )
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        if chat_type == PRIVATE and any(key in message for key in NON_TEXT):
            return Action("notice", text="non_text", **base)
        return Action("ignore")  # joins, leaves, pins, and media in groups
    ensure_clean_text(text)
    text = text.strip()
    if chat_type in GROUPS:
        addressed, text = _addressed_in_group(message, text, bot_username, bot_id)
        command = _command(text, bot_username)
        if not addressed and command is None:
            return Action("ignore")
        base["reply_to"] = _int(message.get("message_id"))
    elif chat_type != PRIVATE:
        return Action("ignore")
    command = _command(text, bot_username)
    if command is not None:
        if command not in COMMANDS:
            return Action("notice", text="unknown_command", **base)
        text = COMMANDS[command]  # our own mapping: the only text that may name an intent
    else:
        text = customer_text(text)
    if not text:
        return Action("ignore")
    return Action("turn", text=text, **base)


def _command(text: str, bot_username: str | None) -> str | None:
    match = re.match(r"^/([A-Za-z0-9_]+)(?:@([A-Za-z0-9_]+))?(?:\s|$)", text)
    if not match:
        return None
    if match.group(2) and bot_username and match.group(2).lower() != bot_username.lower():
        return None  # a command meant for another bot in the group
    return match.group(1).lower()


def _callback(callback: dict[str, Any]) -> Action:
    callback_id = callback.get("id")
    if not isinstance(callback_id, str) or not callback_id:
        raise Rejected(400, "callback_query without id")
    message = callback.get("message") if isinstance(callback.get("message"), dict) else {}
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    user = callback.get("from") if isinstance(callback.get("from"), dict) else {}
    chat_id = _int(chat.get("id"))
    data = callback.get("data")
    ensure_clean_text(data)
    thread_id = _int(message.get("message_thread_id")) if message.get("is_topic_message") else None
    if chat_id is None or not isinstance(data, str) or not data:
        return Action("callback", callback_id=callback_id)  # acknowledge, nothing to tell the bot
    return Action(
        "callback",
        chat_id=chat_id,
        text=data,
        sender_id=_conversation(chat_id, thread_id),
        message_id=f"cb:{callback_id}",
        thread_id=thread_id,
        callback_id=callback_id,
        metadata=_meta(chat, user, message),
    )
