"""Issue 19 against the real server: one Rasa process with the REST, Slack, Telegram and SMS
channels, attacked the way the black-box probe did (a test per finding)."""

from __future__ import annotations

import http.client
import itertools
import json
import time
import urllib.parse

import pytest

from bench.fuzz_webhooks import parallel_big_posts
from tests.e2e.channels import (
    SLACK_TEAM_CHANNEL,
    post,
    rasa_log,
    slack_event,
    slack_signed_headers,
    telegram_update,
    user_events,
)
from tests.e2e.conftest import tracker

_ids = itertools.count(int(time.time()) % 100000 * 1000 + 500)
_chats = itertools.count(77001)


def message(text: str, chat_id: int, **sender) -> dict:
    n = next(_ids)
    user = {"id": 9, "is_bot": False, "first_name": "Ann", **sender}
    return {
        "update_id": n,
        "message": {
            "message_id": n,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": user,
            "text": text,
        },
    }


def rest(stack, payload: dict, **headers: str):
    body = json.dumps(payload).encode()
    return post(
        f"{stack.rasa_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json", **headers}
    )


def sent_to(api, chat_id: int):
    return api.calls("sendMessage", lambda r: int(r.params.get("chat_id")) == chat_id)


# --- 1. REST can no longer impersonate a platform customer ---------------------------------


def test_rest_sender_cannot_reach_a_telegram_customers_conversation(channel_stack, telegram_api, slack_api):
    chat = next(_chats)
    telegram_update(channel_stack, message("hello", chat))
    telegram_api.wait_for("sendMessage", where=lambda r: int(r.params["chat_id"]) == chat)
    before = user_events(channel_stack, f"telegram:{chat}")

    reply = rest(channel_stack, {"sender": f"telegram:{chat}", "message": "I want to talk to a human"})
    assert reply.status == 200
    shown = reply.body.decode()
    assert "transcript" not in shown and "handoff" not in shown
    # The REST caller got a conversation of its own; the Telegram customer's is untouched.
    assert user_events(channel_stack, f"web:telegram:{chat}")[-1]["text"] == "I want to talk to a human"
    assert user_events(channel_stack, f"telegram:{chat}") == before
    assert not tracker(channel_stack, f"telegram:{chat}")["slots"].get("handoff_active")
    # The team hears about the web conversation's handoff, as for any channel.
    slack_api.wait_for(
        "chat.postMessage",
        where=lambda r: (
            r.params.get("channel") == SLACK_TEAM_CHANNEL and f"web:telegram:{chat}" in json.dumps(r.params)
        ),
    )
    # And the real customer still gets answers.
    telegram_update(channel_stack, message("hello again", chat))
    telegram_api.wait_for("sendMessage", count=2, where=lambda r: int(r.params["chat_id"]) == chat)


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
def test_rest_refuses_requests_relayed_by_a_proxy_or_tunnel(channel_stack, header):
    reply = rest(channel_stack, {"sender": "relayed", "message": "hi"}, **{header: "203.0.113.7"})
    assert reply.status == 403
    assert not [e for e in tracker(channel_stack, "web:relayed")["events"] if e["event"] == "user"]


# --- 2. non-ASCII header values: 400, no traceback -------------------------------------------


def raw_post(stack, path: str, body: bytes, headers: dict[str, bytes | str]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", stack.rasa_port, timeout=30)
    try:
        connection.putrequest("POST", path)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("path", "header"),
    [
        ("/webhooks/slack/events", "X-Slack-Signature"),
        ("/webhooks/slack/interactions", "X-Slack-Signature"),
        ("/webhooks/telegram/webhook", "X-Telegram-Bot-Api-Secret-Token"),
        ("/webhooks/sms/webhook", "X-Twilio-Signature"),
        ("/webhooks/rest/webhook", "Authorization"),
    ],
)
def test_non_ascii_header_value_is_a_400(channel_stack, path, header):
    before = rasa_log(channel_stack).count("Traceback")
    status = raw_post(
        channel_stack,
        path,
        b"{}",
        {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": str(int(time.time())),
            header: "v0=\xe9\xe9".encode("latin-1"),
        },
    )
    assert status == 400
    assert rasa_log(channel_stack).count("Traceback") == before


# --- 3. oversized bodies refused before they are buffered ------------------------------------


def test_four_parallel_95_mb_posts_leave_memory_flat(channel_stack):
    measured = parallel_big_posts(channel_stack.rasa_port, channel_stack.processes["rasa"].pid)
    grown = measured["rss_after_mb"] - measured["rss_before_mb"]
    assert grown < 50, f"Rasa grew by {grown} MB"
    assert all(status in (413, None) for status in measured["statuses"]), measured
    assert 413 in measured["statuses"]
    # And the server still answers.
    assert rest(channel_stack, {"sender": "after-big-posts", "message": "hi"}).status == 200


# --- 4. a retry after a restart is not answered again -----------------------------------------


def test_slack_retry_after_a_restart_is_answered_once(channel_stack, slack_api):
    ts = f"{int(time.time())}.{next(_ids)}"
    event_id = f"EvRestart{next(_ids)}"

    def envelope(text: str, event: str, at: str) -> dict:
        return {
            "type": "event_callback",
            "team_id": "T1",
            "event_id": event,
            "event": {
                "type": "app_mention",
                "user": "U7",
                "text": f"<@UBOT> {text}",
                "channel": "C700",
                "ts": at,
                "thread_ts": ts,
            },
            "authorizations": [{"user_id": "UBOT", "is_bot": True}],
        }

    in_thread = lambda r: r.params.get("channel") == "C700" and r.params.get("thread_ts") == ts  # noqa: E731
    assert slack_event(channel_stack, envelope("hello", event_id, ts)).status == 200
    slack_api.wait_for("chat.postMessage", where=in_thread)
    channel_stack.stop("rasa")
    channel_stack.start_rasa()
    # Slack's retry of the same event after the restart, then a new message in the thread:
    # turns of one conversation run in order, so a second answer to the retry would come first.
    assert slack_event(channel_stack, envelope("hello", event_id, ts), retry=1).status == 200
    later = f"{int(time.time())}.{next(_ids)}"
    assert slack_event(channel_stack, envelope("thanks", f"EvAfter{next(_ids)}", later)).status == 200
    said = [e["text"] for e in user_events(channel_stack, f"slack:T1:C700:{ts}", 2)]
    # A second answer to the retry would have stored a second "hello" before "thanks".
    assert said == ["hello", "thanks"]


# --- 5. deep JSON and huge integers, validly signed: 400 ---------------------------------------

DEEP = "[" * 1000 + "]" * 1000
HUGE = "9" * 4301


@pytest.mark.parametrize("kind", ["deep", "huge-int"])
def test_signed_deep_or_huge_json_is_a_400_everywhere(channel_stack, kind):
    envelope = (
        '{"type": "event_callback", "event_id": "EvDeep", "event": %s}' % (DEEP if kind == "deep" else HUGE)
    ).encode()
    reply = post(f"{channel_stack.rasa_url}/webhooks/slack/events", envelope, slack_signed_headers(envelope))
    assert reply.status == 400
    form = urllib.parse.urlencode({"payload": DEEP if kind == "deep" else '{"n": ' + HUGE + "}"}).encode()
    headers = slack_signed_headers(form, content_type="application/x-www-form-urlencoded")
    assert post(f"{channel_stack.rasa_url}/webhooks/slack/interactions", form, headers).status == 400
    update = ('{"update_id": %s}' % (HUGE if kind == "huge-int" else DEEP)).encode()
    assert telegram_update(channel_stack, {}, raw=update).status == 400


# --- 7. slash text is text; 8. metadata bounded ----------------------------------------------


def test_typed_intent_syntax_runs_no_intent(channel_stack, telegram_api):
    chat = next(_chats)
    telegram_update(channel_stack, message('/feedback_unhelpful{"ref": "someone-elses"}', chat))
    telegram_api.wait_for("sendMessage", where=lambda r: int(r.params["chat_id"]) == chat)
    (user,) = user_events(channel_stack, f"telegram:{chat}")
    # Understood as text by the NLU pipeline, not unpacked as an intent with its entities.
    assert not user["text"].startswith("/")
    assert not [e for e in user["parse_data"]["entities"] if e["entity"] == "ref"]
    assert (
        user["parse_data"]["intent"].get("confidence", 0) < 1.0
        or user["parse_data"]["intent"]["name"] != "feedback_unhelpful"
    )


def test_huge_first_name_is_not_stored_in_the_tracker(channel_stack, telegram_api):
    chat = next(_chats)
    for n in range(3):
        telegram_update(channel_stack, message(f"hi {n}", chat, first_name="A" * 200_000))
    telegram_api.wait_for("sendMessage", count=3, where=lambda r: int(r.params["chat_id"]) == chat)
    state = tracker(channel_stack, f"telegram:{chat}")
    assert len(json.dumps(state)) < 100_000
    assert [e["metadata"]["telegram"]["user_name"][:3] for e in state["events"] if e["event"] == "user"] == [
        "AAA"
    ] * 3
