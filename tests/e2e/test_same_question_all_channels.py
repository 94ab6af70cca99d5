"""The same knowledge question asked in Slack, Telegram and SMS, through the real Rasa server
(channels loaded from a credentials file) and the real action server: each answer arrives at
the platform stand-in in that platform's own format, with citations that link to the article;
feedback buttons pressed in Slack and Telegram are recorded for the team without any noise."""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest

from tests.e2e.channels import (
    TWILIO_NUMBER,
    TWILIO_SID,
    post,
    slack_event,
    slack_signed_headers,
    sms_webhook,
    telegram_update,
)
from tests.e2e.settled import stored_turn
from tests.standins.slack_api import BOT_ID, BOT_USER_ID
from tests.standins.telegram_api import BOT_ID as TELEGRAM_BOT_ID
from tests.standins.telegram_api import markup

QUESTION = "How do I factory reset my thermostat?"
ARTICLE = "https://help.nimbushome.example/articles/factory-reset-your-thermostat"
TITLE = "Factory reset your thermostat"
_n = itertools.count(int(time.time()) % 100000 * 100)


def feedback_rows(stack, **where) -> list[sqlite3.Row]:
    db = sqlite3.connect(stack.env["FEEDBACK_DB"])
    db.row_factory = sqlite3.Row
    try:
        rows = db.execute("SELECT * FROM answers").fetchall()
    finally:
        db.close()
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


def wait_for_verdict(stack, ref: str, timeout: float = 30) -> sqlite3.Row:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = feedback_rows(stack, ref=ref)
        if rows and rows[0]["verdict"]:
            return rows[0]
        time.sleep(0.2)
    raise AssertionError(f"no verdict recorded for {ref}")


# --- Slack -----------------------------------------------------------------------------


def ask_slack(stack, slack_api, channel: str):
    n = next(_n)
    ts = f"{int(time.time())}.{n:06d}"
    envelope = {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": f"EvSame{n}",
        "event": {
            "type": "app_mention",
            "user": "U42",
            "text": f"<@{BOT_USER_ID}> {QUESTION}",
            "channel": channel,
            "ts": ts,
            "client_msg_id": f"same-{n}",
        },
        "authorizations": [{"team_id": "T1", "user_id": BOT_USER_ID, "is_bot": True}],
    }
    assert slack_event(stack, envelope).status == 200
    (answer,) = slack_api.wait_for(
        "chat.postMessage", where=lambda r: r.params.get("thread_ts") == ts, timeout=90
    )
    return answer, ts


def test_slack_answer_is_block_kit_with_linked_citations_and_feedback(channel_stack, slack_api):
    answer, ts = ask_slack(channel_stack, slack_api, "C2001")
    params = answer.params
    assert params["channel"] == "C2001" and params["thread_ts"] == ts
    blocks = params["blocks"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    cited = re.findall(r"<(https://[^|>]+)\|\[(\d+)\]>", " ".join(sections))
    assert (ARTICLE, cited[0][1]) in cited, sections  # inline `<url|[n]>` to the right article
    assert "**" not in " ".join(sections)  # mrkdwn, not Markdown
    (context,) = [b for b in blocks if b["type"] == "context"]
    sources = "\n".join(e["text"] for e in context["elements"])
    assert sources.startswith("*Sources*")
    assert f"<{ARTICLE}|[{cited[0][1]}] {TITLE}>" in sources
    # Plain fallback for notifications: the answer's words, no link syntax.
    assert "<http" not in params["text"] and params["text"].strip()


def test_slack_feedback_button_press_is_recorded_quietly(channel_stack, slack_api):
    answer, ts = ask_slack(channel_stack, slack_api, "C2002")
    (actions,) = [b for b in answer.params["blocks"] if b["type"] == "actions"]
    helpful = next(e for e in actions["elements"] if e["action_id"] == "feedback_helpful")
    ref = json.loads(helpful["value"].removeprefix("/feedback_helpful"))["ref"]
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U42", "username": "ann"},
        "channel": {"id": "C2002"},
        "trigger_id": f"trig-{ts}",
        "container": {"type": "message", "message_ts": "1700000000.000001", "thread_ts": ts},
        "message": {"ts": "1700000000.000001", "thread_ts": ts, "bot_id": BOT_ID},
        "actions": [
            {
                "action_id": "feedback_helpful",
                "block_id": actions["block_id"],
                "type": "button",
                "value": helpful["value"],
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    reply = post(
        f"{channel_stack.rasa_url}/webhooks/slack/interactions",
        body,
        slack_signed_headers(body, content_type="application/x-www-form-urlencoded"),
    )
    assert reply.status == 200
    row = wait_for_verdict(channel_stack, ref)
    assert row["verdict"] == "helpful" and row["verdict_channel"] == "slack"
    assert row["question"] == QUESTION and ARTICLE in row["citations"]
    stored_turn(channel_stack, f"slack:T1:C2002:{ts}", "/feedback_helpful")  # its replies went out by now
    assert len(slack_api.calls("chat.postMessage", lambda r: r.params.get("thread_ts") == ts)) == 1


# --- Telegram --------------------------------------------------------------------------


def ask_telegram(stack, telegram_api, chat: int):
    n = next(_n)
    update = {
        "update_id": n,
        "message": {
            "message_id": n,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Ann"},
            "text": QUESTION,
        },
    }
    assert telegram_update(stack, update).status == 200
    (answer,) = telegram_api.wait_for(
        "sendMessage", where=lambda r: int(r.params["chat_id"]) == chat, timeout=90
    )
    return answer


def test_telegram_answer_is_html_with_linked_citations(channel_stack, telegram_api):
    answer = ask_telegram(channel_stack, telegram_api, 6101)
    text = answer.params["text"]
    assert answer.params["parse_mode"] == "HTML"
    numbers = re.findall(rf'<a href="{re.escape(ARTICLE)}">\[(\d+)\]</a>', text)
    assert numbers, text
    assert "<b>Sources</b>" in text
    assert f'<a href="{ARTICLE}">[{numbers[0]}] {TITLE}</a>' in text
    assert "**" not in text and "&lt;a" not in text  # real markup, not escaped Markdown
    keyboard = markup(answer)["inline_keyboard"]
    datas = [b["callback_data"] for row in keyboard for b in row]
    assert any(d.startswith("/feedback_helpful{") for d in datas)
    assert all(len(d.encode()) <= 64 for d in datas)


def test_telegram_feedback_press_is_answered_with_a_toast_and_recorded(channel_stack, telegram_api):
    chat = 6102
    answer = ask_telegram(channel_stack, telegram_api, chat)
    keyboard = markup(answer)["inline_keyboard"]
    data = next(b["callback_data"] for row in keyboard for b in row if b["text"] == "👍 Helpful")
    ref = json.loads(data.removeprefix("/feedback_helpful"))["ref"]
    callback_id = f"cbq-same-{next(_n)}"
    update = {
        "update_id": next(_n),
        "callback_query": {
            "id": callback_id,
            "chat_instance": "ci",
            "data": data,
            "from": {"id": chat, "is_bot": False, "first_name": "Ann"},
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": chat, "type": "private"},
                "from": {"id": TELEGRAM_BOT_ID, "is_bot": True, "first_name": "Nimbus"},
            },
        },
    }
    assert telegram_update(channel_stack, update).status == 200
    (answered,) = telegram_api.wait_for(
        "answerCallbackQuery", where=lambda r: r.params.get("callback_query_id") == callback_id
    )
    assert answered.params.get("text") == "Thanks for your feedback!"  # a toast, not a message
    row = wait_for_verdict(channel_stack, ref)
    assert row["verdict"] == "helpful" and row["verdict_channel"] == "telegram"
    stored_turn(channel_stack, f"telegram:{chat}", "/feedback_helpful")  # its replies went out by now
    assert len(telegram_api.calls("sendMessage", lambda r: int(r.params["chat_id"]) == chat)) == 1
    pressed = lambda r: r.params.get("callback_query_id") == callback_id  # noqa: E731
    assert len(telegram_api.calls("answerCallbackQuery", pressed)) == 1


# --- SMS -------------------------------------------------------------------------------


def test_sms_answer_is_plain_text_with_numbered_compact_sources(channel_stack, twilio_api):
    sender = f"+1415777{next(_n) % 10000:04d}"
    sid = f"SM5a3e{next(_n):028d}"
    params = {
        "MessageSid": sid,
        "AccountSid": TWILIO_SID,
        "From": sender,
        "To": TWILIO_NUMBER,
        "Body": QUESTION,
        "NumMedia": "0",
    }
    reply = sms_webhook(channel_stack, params)
    assert reply.status == 200
    bodies = [m.text or "" for m in ET.fromstring(reply.body).iter("Message")]
    if not bodies:  # slower than the TwiML window: sent through the Messages API instead
        sent = twilio_api.wait_for("Messages", where=lambda r: r.params.get("To") == sender, timeout=90)
        bodies = [m.params["Body"] for m in sent]
    (text,) = bodies
    numbers = re.findall(r"\[(\d+)\]", text)
    assert numbers, text
    compact = ARTICLE.removeprefix("https://")
    assert f"[{numbers[0]}] {compact}" in text  # the compact source list, one per cited number
    # Plain text: the model's Markdown (**bold**, `code`, links) is gone, URLs are compact.
    assert not re.search(r"\*\*|`|</?[a-z]|\]\(|https?://", text), text
    # the feedback digits, with the offer of the rest when the answer leaves part out
    assert text.splitlines()[-1] in (
        "Reply 1 if this helped, 2 if not.",
        "Reply MORE for the rest, 1 if this helped, 2 if not.",
    )
    assert len(text) <= 3 * 153  # the default budget of three GSM-7 segments


@pytest.fixture(autouse=True)
def _quick_model(openai_latency_standin):
    openai_latency_standin.latency = 0.0
