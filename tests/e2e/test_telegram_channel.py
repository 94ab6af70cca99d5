"""Telegram end to end: webhook updates with the secret token into the real Rasa server and
action server; what arrives at the Bot API stand-in (chat, HTML, typing, callbacks)."""

from __future__ import annotations

import html
import itertools
import time

import pytest

from tests.e2e.channels import (
    rasa_log,
    telegram_update,
    user_events,
)
from tests.e2e.settled import after_a_later_turn
from tests.standins.telegram_api import BOT_ID, BOT_USERNAME, markup

_ids = itertools.count(int(time.time()) % 100000 * 1000)
_chats = itertools.count(5001)


def message(text: str | None, chat_id: int, chat_type: str = "private", **extra) -> dict:
    n = next(_ids)
    body = {
        "message_id": n,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type},
        "from": {"id": 9, "is_bot": False, "first_name": "Ann", "username": "ann"},
    }
    if text is not None:
        body["text"] = text
    body.update(extra)
    return {"update_id": n, "message": body}


def sent_to(api, chat_id: int):
    return api.calls("sendMessage", lambda r: int(r.params.get("chat_id")) == chat_id)


def test_private_message_gets_an_html_reply_with_typing(channel_stack, telegram_api):
    chat = next(_chats)
    update = message("hello", chat)
    reply = telegram_update(channel_stack, update)
    assert reply.status == 200
    (answer,) = telegram_api.wait_for("sendMessage", where=lambda r: int(r.params.get("chat_id", 0)) == chat)
    assert answer.params["parse_mode"] == "HTML"
    assert "Nimbus Home support assistant" in html.unescape(answer.params["text"])
    typing = telegram_api.calls("sendChatAction", lambda r: int(r.params.get("chat_id", 0)) == chat)
    assert typing and typing[0].params["action"] == "typing" and typing[0].at <= answer.at
    user = user_events(channel_stack, f"telegram:{chat}")[-1]
    assert (
        user["input_channel"] == "telegram"
        and user["message_id"] == f"{chat}:{update['message']['message_id']}"
    )
    assert user["metadata"]["telegram"]["chat_type"] == "private"
    assert user["metadata"]["telegram"]["user_name"] == "Ann"


def test_start_command_greets(channel_stack, telegram_api):
    chat = next(_chats)
    telegram_update(channel_stack, message("/start", chat))
    (answer,) = telegram_api.wait_for("sendMessage", where=lambda r: int(r.params.get("chat_id", 0)) == chat)
    assert "Nimbus Home support assistant" in html.unescape(answer.params["text"])


def test_same_update_three_times_is_answered_once(channel_stack, telegram_api):
    chat = next(_chats)
    update = message("hi", chat)
    assert [telegram_update(channel_stack, update).status for _ in range(3)] == [200, 200, 200]
    telegram_api.wait_for("sendMessage", where=lambda r: int(r.params.get("chat_id", 0)) == chat)
    later = message("thanks", chat)
    said = after_a_later_turn(
        channel_stack, f"telegram:{chat}", lambda: telegram_update(channel_stack, later), 1
    )
    assert said == ["hi", "thanks"]  # a wrongly accepted copy would sit between them
    assert len(sent_to(telegram_api, chat)) == 2


def test_group_needs_a_mention(channel_stack, telegram_api):
    group = -1000 - next(_chats)
    telegram_update(channel_stack, message("hello everyone", group, "supergroup"))
    mention = message(f"@{BOT_USERNAME} hello", group, "supergroup")
    telegram_update(channel_stack, mention)
    (answer,) = telegram_api.wait_for("sendMessage", where=lambda r: int(r.params.get("chat_id", 0)) == group)
    assert str(mention["message"]["message_id"]) in answer.params.get("reply_parameters", "")
    later = message(f"@{BOT_USERNAME} thanks", group, "supergroup")
    said = after_a_later_turn(
        channel_stack, f"telegram:{group}", lambda: telegram_update(channel_stack, later), 1
    )
    assert len(said) == 2 and "hello everyone" not in said  # the unmentioned message never got in
    assert len(sent_to(telegram_api, group)) == 2


def test_non_text_updates_never_crash(channel_stack, telegram_api):
    chat = next(_chats)
    updates = [
        message(
            None,
            chat,
            sticker={
                "file_id": "s",
                "file_unique_id": "u",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            },
        ),
        {"update_id": next(_ids), "edited_message": message("edited", chat)["message"]},
        message(None, -77, "group", new_chat_members=[{"id": 1, "is_bot": False, "first_name": "B"}]),
        {"update_id": next(_ids), "my_chat_member": {"chat": {"id": chat, "type": "private"}}},
    ]
    assert [telegram_update(channel_stack, u).status for u in updates] == [200] * 4
    (notice,) = telegram_api.wait_for("sendMessage", where=lambda r: int(r.params.get("chat_id", 0)) == chat)
    assert "only read text" in notice.params["text"]
    said = after_a_later_turn(
        channel_stack, f"telegram:{chat}", lambda: telegram_update(channel_stack, message("hi", chat)), 0
    )
    assert said == ["hi"]  # the sticker, the edit and the membership change made no turn
    assert len(sent_to(telegram_api, chat)) == 2 and not sent_to(telegram_api, -77)


def test_button_press_is_answered_and_forwarded(channel_stack, telegram_api):
    chat = next(_chats)
    telegram_update(channel_stack, message("hi", chat))
    telegram_api.wait_for("sendMessage", where=lambda r: int(r.params.get("chat_id", 0)) == chat)
    callback = {
        "update_id": next(_ids),
        "callback_query": {
            "id": f"cbq-{chat}",
            "chat_instance": "ci",
            "data": "/thanks",
            "from": {"id": 9, "is_bot": False, "first_name": "Ann"},
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": chat, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Nimbus"},
            },
        },
    }
    assert telegram_update(channel_stack, callback).status == 200
    answered = telegram_api.wait_for(
        "answerCallbackQuery", where=lambda r: r.params.get("callback_query_id") == f"cbq-{chat}"
    )
    assert len(answered) == 1
    replies = telegram_api.wait_for("sendMessage", 2, where=lambda r: int(r.params.get("chat_id", 0)) == chat)
    assert "welcome" in replies[1].params["text"].lower()
    assert [e["text"] for e in user_events(channel_stack, f"telegram:{chat}", 2)][-1] == "/thanks"


def test_slow_answer_is_acknowledged_at_once(channel_stack, telegram_api, openai_latency_standin):
    chat = next(_chats)
    openai_latency_standin.latency = 5.0
    try:
        reply = telegram_update(channel_stack, message("How long does shipping take?", chat))
        assert reply.status == 200 and reply.seconds < 1.0, f"ack took {reply.seconds:.2f} s"
        telegram_api.wait_for(
            "sendMessage", where=lambda r: int(r.params.get("chat_id", 0)) == chat, timeout=90
        )
        assert (
            len(telegram_api.calls("sendChatAction", lambda r: int(r.params.get("chat_id", 0)) == chat)) >= 2
        )
    finally:
        openai_latency_standin.latency = 0.0


@pytest.mark.parametrize(
    ("secret", "content_type", "raw", "expected"),
    [
        ("wrong-secret", "application/json", None, 401),
        (None, "application/json", None, 401),
        ("ok", "application/json", b"{broken", 400),
        ("ok", "application/json", b'{"message": {"text": "no update id"}}', 400),
        ("ok", "application/json", b'{"update_id": 5, "message": {"text": "no chat", "message_id": 1}}', 400),
        ("ok", "text/plain", b"hello", 415),
        (
            "ok",
            "application/json",
            b'{"update_id": 6, "message": {"message_id": 1, "chat": {"id": 1, '
            b'"type": "private"}, "text": "\\udfff"}}',
            400,
        ),
        ("ok", "application/json", b'{"update_id": 7, "pad": "' + b"x" * 300_000 + b'"}', 413),
    ],
    ids=[
        "wrong-secret",
        "no-secret",
        "invalid-json",
        "no-update-id",
        "no-chat",
        "text-plain",
        "lone-surrogate",
        "oversized",
    ],
)
def test_forged_and_malformed_updates_get_4xx(
    channel_stack, telegram_api, secret, content_type, raw, expected
):
    from tests.e2e.channels import TELEGRAM_SECRET

    before = len(telegram_api.requests)
    update = message("forged hello", 999)
    reply = telegram_update(
        channel_stack,
        update,
        secret=TELEGRAM_SECRET if secret == "ok" else secret,
        content_type=content_type,
        raw=raw,
    )
    assert reply.status == expected
    said = after_a_later_turn(
        channel_stack,
        "telegram:999",
        lambda: telegram_update(channel_stack, message("hello", 999)),
        len(user_events(channel_stack, "telegram:999", 0)),
    )
    assert "forged hello" not in said
    assert all(int(r.params.get("chat_id", 999)) == 999 for r in telegram_api.requests[before:])
    assert "forged hello" not in rasa_log(channel_stack)


def test_long_answer_is_split_without_breaking_html(channel_stack, telegram_api):
    # The knowledge answer is short; a long rich payload is covered in tests/connectors.
    # Here: every message the bot has sent so far is under the limit and parses as HTML.
    for sent in telegram_api.calls("sendMessage"):
        assert len(html.unescape(sent.params["text"])) <= 4096
        assert sent.params["text"].count("<b>") == sent.params["text"].count("</b>")
        assert markup(sent) is None or "inline_keyboard" in markup(sent)
