"""Telegram: which updates reach the bot, HTML splitting, and what the Bot API receives."""

from __future__ import annotations

import asyncio
import html
import re

import pytest

from connectors.common.credentials import ChannelConfigError
from connectors.telegram import TelegramInput
from connectors.telegram import output as telegram_output
from connectors.telegram.channel import make_bot
from connectors.telegram.format import split_html, strip_tags, visible_length
from connectors.telegram.output import CallbackData, TelegramOutput
from connectors.telegram.register import main as register_main
from connectors.telegram.updates import classify
from tests.standins.telegram_api import BOT_ID, BOT_USERNAME, TelegramStandIn, markup

TOKEN = "123456:TEST-token"


def msg(text=None, chat_type="private", chat_id=42, **extra) -> dict:
    message = {
        "message_id": 5,
        "date": 1,
        "chat": {"id": chat_id, "type": chat_type},
        "from": {"id": 9, "is_bot": False, "first_name": "Ann", "username": "ann"},
    }
    if text is not None:
        message["text"] = text
    message.update(extra)
    return {"update_id": 1, "message": message}


def test_private_text_is_a_turn_with_metadata():
    action = classify(msg("How do I return an order?"), BOT_USERNAME, BOT_ID)
    assert action.kind == "turn" and action.text == "How do I return an order?"
    assert action.sender_id == "telegram:42" and action.message_id == "42:5"
    assert action.metadata["telegram"]["chat_type"] == "private"
    assert action.metadata["telegram"]["user_name"] == "Ann"


@pytest.mark.parametrize("text", ["/start", "/help", f"/start@{BOT_USERNAME}"])
def test_start_and_help_greet(text):
    assert classify(msg(text), BOT_USERNAME, BOT_ID).text == "/greet"


def test_unknown_command_gets_a_notice_not_an_intent():
    assert classify(msg("/deleteeverything"), BOT_USERNAME, BOT_ID).kind == "notice"


def test_groups_only_when_mentioned_or_replied_to():
    assert classify(msg("what a day", "supergroup", -100), BOT_USERNAME, BOT_ID).kind == "ignore"
    mentioned = classify(msg(f"@{BOT_USERNAME} how do refunds work?", "group", -100), BOT_USERNAME, BOT_ID)
    assert mentioned.kind == "turn" and mentioned.text == "how do refunds work?" and mentioned.reply_to == 5
    reply = msg(
        "and for gift cards?",
        "supergroup",
        -100,
        reply_to_message={
            "message_id": 4,
            "date": 1,
            "chat": {"id": -100, "type": "supergroup"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Nimbus"},
        },
    )
    assert classify(reply, BOT_USERNAME, BOT_ID).kind == "turn"
    assert classify(msg("/help@other_bot", "group", -100), BOT_USERNAME, BOT_ID).kind == "ignore"


@pytest.mark.parametrize(
    ("update", "kind"),
    [
        (msg(photo=[{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]), "notice"),
        (msg(sticker={"file_id": "s"}), "notice"),
        (msg(voice={"file_id": "v", "duration": 2}), "notice"),
        (msg(None, "group", -100, photo=[{"file_id": "f"}]), "ignore"),
        (
            msg(None, "group", -100, new_chat_members=[{"id": 1, "is_bot": False, "first_name": "B"}]),
            "ignore",
        ),
        ({"update_id": 2, "edited_message": msg("edited")["message"]}, "ignore"),
        ({"update_id": 3, "my_chat_member": {"chat": {"id": 1}}}, "ignore"),
        ({"update_id": 4, "channel_post": {"message_id": 1}}, "ignore"),
        (msg("hi", **{"from": {"id": 5, "is_bot": True, "first_name": "OtherBot"}}), "ignore"),
    ],
)
def test_other_updates_never_crash(update, kind):
    assert classify(update, BOT_USERNAME, BOT_ID).kind == kind


def test_callback_query_forwards_its_data():
    update = {
        "update_id": 9,
        "callback_query": {
            "id": "cbq1",
            "from": {"id": 9, "is_bot": False, "first_name": "Ann"},
            "chat_instance": "x",
            "data": '/feedback_helpful{"ref":"abc"}',
            "message": {"message_id": 77, "date": 1, "chat": {"id": 42, "type": "private"}},
        },
    }
    action = classify(update, BOT_USERNAME, BOT_ID)
    assert action.kind == "callback" and action.callback_id == "cbq1"
    assert action.text == '/feedback_helpful{"ref":"abc"}' and action.sender_id == "telegram:42"


def test_long_callback_data_travels_as_a_short_key():
    store = CallbackData()
    long_value = '/feedback_helpful{"ref":"' + "x" * 100 + '"}'
    packed = store.pack(long_value)
    assert len(packed.encode()) <= 64 and store.unpack(packed) == long_value
    assert store.pack("/short") == "/short"


def test_split_html_keeps_tags_balanced_and_under_the_limit():
    paragraph = (
        "<b>Step {n}</b>: hold the <i>dial</i> for ten seconds &amp; wait. "
        'See <a href="https://help.example/a?x=1&amp;y=2">the article</a>. '
    ) + "More words here. " * 20
    markup_text = "\n\n".join(paragraph.format(n=i) for i in range(40))
    parts = split_html(markup_text, 4096)
    assert len(parts) > 1
    for part in parts:
        assert visible_length(strip_tags(part)) <= 4096
        for tag in ("b", "i", "a"):
            assert len(re.findall(rf"<{tag}[ >]", part)) == len(re.findall(rf"</{tag}>", part))
        assert not re.search(r"<[^>]*$", part)  # never ends inside a tag
    assert "".join(strip_tags(p) for p in parts).replace(" ", "").replace("\n", "") == html.unescape(
        strip_tags(markup_text)
    ).replace(" ", "").replace("\n", "")


def test_split_html_reopens_a_tag_that_spans_the_cut():
    parts = split_html("<b>" + "bold words go here. " * 30 + "</b>", 200)
    assert len(parts) >= 3 and all(p.startswith("<b>") and p.endswith("</b>") for p in parts)


def test_missing_credentials_name_the_variable():
    with pytest.raises(ChannelConfigError, match="TELEGRAM_BOT_TOKEN"):
        TelegramInput.from_credentials({"token": "", "webhook_secret": "s"})
    with pytest.raises(ChannelConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        TelegramInput.from_credentials({"token": TOKEN})
    assert TelegramInput.from_credentials({"token": TOKEN, "mode": "polling"}).mode == "polling"


@pytest.fixture
def telegram_api():
    server = TelegramStandIn(TOKEN).start()
    yield server
    server.stop()


def run_output(api: TelegramStandIn, action, chat_id: int = 42, reply_to=None):
    async def scenario():
        async with make_bot(TOKEN, api.base_url) as bot:
            await action(TelegramOutput(bot, chat_id, f"telegram:{chat_id}", reply_to=reply_to))

    asyncio.run(scenario())


def test_typing_repeats_while_the_bot_works_but_never_follows_the_answer(telegram_api, monkeypatch):
    # Repeats every 0.5 s here (4.5 s in production). The answer goes out at 0.9 s and the
    # turn ends 0.2 s later (Rasa saving the conversation): a repeat on a fixed 0.5 s beat
    # fell in that moment and showed "typing…" under the answer.
    monkeypatch.setattr(telegram_output, "TYPING_REPEAT_SECONDS", 0.5)

    async def turn(out: TelegramOutput) -> None:
        async with out.typing_while():
            await asyncio.sleep(0.9)  # the bot works: one repeat at 0.5 s
            await out.send_text_message("u", "the answer")
            await asyncio.sleep(0.2)  # the turn ends shortly after its answer
        await out._keeper  # the repeats end with the turn (it looks once more, at most)

    run_output(telegram_api, turn)
    calls = [r.method for r in telegram_api.requests if r.method in ("sendChatAction", "sendMessage")]
    assert calls == ["sendChatAction", "sendChatAction", "sendMessage"]
    assert all(int(r.params.get("chat_id", 0)) == 42 for r in telegram_api.calls("sendChatAction"))


def test_plain_text_is_escaped_as_html(telegram_api):
    run_output(telegram_api, lambda out: out.send_text_message("u", "Use <Settings> & save"))
    (sent,) = telegram_api.messages(42)
    assert sent.params["text"] == "Use &lt;Settings&gt; &amp; save" and sent.params["parse_mode"] == "HTML"


def test_rich_payload_is_split_with_keyboard_on_last_part(telegram_api):
    body = "\n\n".join(f"<b>Part {i}</b> " + "text " * 300 for i in range(6))
    buttons = [
        [
            {"text": "Helpful", "callback_data": '/feedback_helpful{"ref":"abc"}'},
            {"text": "Not helpful", "callback_data": '/feedback_unhelpful{"ref":"' + "z" * 80 + '"}'},
        ]
    ]
    payload = {"telegram": {"html": body, "buttons": buttons}, "slack": {"text": "x"}, "handoff": {}}
    run_output(telegram_api, lambda out: out.send_custom_json("u", payload))
    sent = telegram_api.messages(42)
    assert len(sent) >= 2
    assert all(markup(m) is None for m in sent[:-1])
    keyboard = markup(sent[-1])["inline_keyboard"]
    assert keyboard[0][0]["callback_data"] == '/feedback_helpful{"ref":"abc"}'
    assert len(keyboard[0][1]["callback_data"].encode()) <= 64


def test_group_reply_quotes_the_question(telegram_api):
    run_output(telegram_api, lambda out: out.send_text_message("u", "Answer"), chat_id=-100, reply_to=5)
    (sent,) = telegram_api.messages(-100)
    assert '"message_id": 5' in sent.params["reply_parameters"].replace("'", '"')


def test_retry_after_is_honoured(telegram_api):
    telegram_api.fail("sendMessage", TelegramStandIn.too_many_requests(1))
    run_output(telegram_api, lambda out: out.send_text_message("u", "hello"))
    first, second = telegram_api.calls("sendMessage")
    assert second.at - first.at >= 0.95 and second.params["text"] == "hello"


def test_payload_without_telegram_part_falls_back_or_is_ignored(telegram_api):
    run_output(telegram_api, lambda out: out.send_custom_json("u", {"answer": "Plain & simple"}))
    run_output(telegram_api, lambda out: out.send_custom_json("u", {"handoff": {"x": 1}}))
    assert [m.params["text"] for m in telegram_api.messages()] == ["Plain &amp; simple"]


def test_register_webhook_command(telegram_api, monkeypatch, capsys):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "s3cret-value")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram_api.base_url)
    assert register_main(["https://bot.example.com/webhooks/telegram/webhook"]) == 0
    (call,) = telegram_api.calls("setWebhook")
    assert call.params["url"] == "https://bot.example.com/webhooks/telegram/webhook"
    assert call.params["secret_token"] == "s3cret-value"
    assert "callback_query" in call.params["allowed_updates"]
    assert TOKEN not in capsys.readouterr().out


def run_channel(api: TelegramStandIn, updates: list[dict]) -> list:
    """Feed updates through the channel's handler; return the UserMessages Rasa would get."""
    received = []

    async def on_new_message(message):
        received.append(message)
        await message.output_channel.send_text_message(message.sender_id, "ok")

    async def scenario():
        channel = TelegramInput(TOKEN, "secret", base_url=api.base_url)
        for update in updates:
            await channel.handle_update(update, on_new_message)
        await channel.runner.drain(10)
        await channel.bot.shutdown()

    asyncio.run(scenario())
    return received


def test_repeated_update_id_reaches_rasa_once(telegram_api):
    update = msg("hello")
    received = run_channel(telegram_api, [update, update, update])
    assert len(received) == 1 and received[0].input_channel == "telegram"
    assert len(telegram_api.messages(42)) == 1
    assert telegram_api.calls("sendChatAction")[0].params["action"] == "typing"


def test_every_button_press_is_answered(telegram_api):
    press = {
        "update_id": 50,
        "callback_query": {
            "id": "cbq9",
            "chat_instance": "c",
            "data": "/thanks",
            "from": {"id": 9, "is_bot": False, "first_name": "Ann"},
            "message": {"message_id": 3, "date": 1, "chat": {"id": 42, "type": "private"}},
        },
    }
    stale = {
        "update_id": 51,
        "callback_query": {
            "id": "cbq10",
            "chat_instance": "c",
            "data": "k:" + "0" * 40,
            "from": {"id": 9, "is_bot": False, "first_name": "Ann"},
            "message": {"message_id": 3, "date": 1, "chat": {"id": 42, "type": "private"}},
        },
    }
    received = run_channel(telegram_api, [press, stale])
    assert [m.text for m in received] == ["/thanks"]
    # Both answered once; the live press after its turn (which may answer it with a toast).
    assert sorted(c.params["callback_query_id"] for c in telegram_api.calls("answerCallbackQuery")) == [
        "cbq10",
        "cbq9",
    ]


def test_sticker_in_private_chat_gets_a_polite_note_and_no_turn(telegram_api):
    received = run_channel(telegram_api, [msg(sticker={"file_id": "s"})])
    assert received == []
    (note,) = telegram_api.messages(42)
    assert "only read text" in note.params["text"]


@pytest.mark.parametrize(
    "update",
    [
        {"update_id": 1, "message": {"message_id": 1, "chat": "not-an-object", "text": "hi"}},
        {
            "update_id": 2,
            "message": {
                "message_id": 1,
                "chat": {"id": 5, "type": "group"},
                "text": "hi",
                "reply_to_message": {"from": "nobody"},
            },
        },
    ],
)
def test_fields_of_the_wrong_type_are_a_400(update):
    from connectors.common.webhook import Rejected

    async def scenario():
        channel = TelegramInput(
            TOKEN, "secret", base_url="http://127.0.0.1:9", bot_username="nimbus_help_bot"
        )
        channel.bot_id = BOT_ID

        async def never(message):
            raise AssertionError("reached Rasa")

        await channel.handle_update(update, never)

    with pytest.raises(Rejected) as info:
        asyncio.run(scenario())
    assert info.value.status == 400


def test_polling_mode_receives_updates_without_a_webhook(telegram_api):
    telegram_api.pending_updates = [msg("hello from polling"), msg("hello from polling")]  # same update_id
    received = []

    async def on_new_message(message):
        received.append(message.text)

    async def scenario():
        channel = TelegramInput(TOKEN, "", base_url=telegram_api.base_url, mode="polling")
        poller = asyncio.get_running_loop().create_task(channel._poll(on_new_message))
        for _ in range(50):
            await asyncio.sleep(0.1)
            if received:
                break
        await asyncio.sleep(0.5)
        poller.cancel()
        await channel.runner.drain(5)
        await channel.bot.shutdown()

    asyncio.run(scenario())
    assert received == ["hello from polling"]
    assert telegram_api.calls("deleteWebhook")
    offsets = [int(c.params.get("offset") or 0) for c in telegram_api.calls("getUpdates")]
    assert offsets[-1] == 2  # acknowledged past the update it handled
