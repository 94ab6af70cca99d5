"""Slack end to end: signed Events API webhooks into the real Rasa server (channel loaded from
a credentials file) and the real action server; replies observed at the Slack API stand-in."""

from __future__ import annotations

import html
import itertools
import json
import re
import time
import urllib.parse

import pytest
import yaml

from scripts.stack import ROOT
from tests.e2e.channels import (
    SLACK_TEAM_CHANNEL,
    post,
    rasa_log,
    slack_event,
    slack_signed_headers,
    user_events,
)
from tests.e2e.settled import after_a_later_turn
from tests.standins.slack_api import BOT_ID, BOT_USER_ID

_ids = itertools.count(1)
SLACK_GREETING = next(
    r["text"]
    for r in yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())["responses"]["utter_greet"]
    if r.get("channel") == "slack"
)


def mention(
    text: str, channel: str = "C100", thread_ts: str | None = None, user: str = "U1"
) -> tuple[dict, str]:
    n = next(_ids)
    ts = f"{int(time.time())}.{n:06d}"
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "channel": channel,
        "ts": ts,
        "client_msg_id": f"msg-{n}",
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    envelope = {
        "token": "legacy",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": f"Ev{n:08d}",
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": "T1", "user_id": BOT_USER_ID, "is_bot": True}],
    }
    return envelope, ts


def thread_posts(slack_api, channel: str, thread_ts: str):
    return slack_api.calls(
        "chat.postMessage",
        lambda r: r.params.get("channel") == channel and r.params.get("thread_ts") == thread_ts,
    )


def posted_text(record) -> str:
    return html.unescape(record.params.get("text", "") + " " + json.dumps(record.params.get("blocks") or []))


def test_url_verification_answers_the_challenge(channel_stack):
    reply = slack_event(
        channel_stack, {"type": "url_verification", "token": "x", "challenge": "3eZbrw1aBm2rZg"}
    )
    assert reply.status == 200 and reply.json()["challenge"] == "3eZbrw1aBm2rZg"


def test_mention_gets_a_threaded_reply_with_eyes_reaction(channel_stack, slack_api):
    envelope, ts = mention("hello")
    reply = slack_event(channel_stack, envelope)
    assert reply.status == 200
    (answer,) = slack_api.wait_for("chat.postMessage", where=lambda r: r.params.get("thread_ts") == ts)
    assert answer.params["channel"] == "C100"
    assert answer.params["text"] == SLACK_GREETING  # the Slack variant, in mrkdwn
    assert answer.headers["authorization"] == "Bearer xoxb-e2e-bot-token"
    added = slack_api.wait_for("reactions.add", where=lambda r: r.params.get("timestamp") == ts)
    removed = slack_api.wait_for("reactions.remove", where=lambda r: r.params.get("timestamp") == ts)
    assert added[0].params["name"] == "eyes" and removed[0].params["name"] == "eyes"
    assert added[0].at <= answer.at <= removed[0].at
    user = user_events(channel_stack, f"slack:T1:C100:{ts}")[-1]
    assert user["input_channel"] == "slack"
    assert user["metadata"]["slack"]["channel"] == "C100" and user["metadata"]["slack"]["ts"] == ts
    assert user["message_id"] == envelope["event"]["client_msg_id"]


def test_knowledge_answer_arrives_in_the_thread(channel_stack, slack_api, openai_latency_standin):
    envelope, ts = mention("How do I reset my thermostat to factory settings?")
    before = len(openai_latency_standin.requests)
    assert slack_event(channel_stack, envelope).status == 200
    posts = slack_api.wait_for(
        "chat.postMessage", where=lambda r: r.params.get("thread_ts") == ts, timeout=90
    )
    assert len(openai_latency_standin.requests) > before
    model_said = openai_latency_standin.reply_for(openai_latency_standin.requests[-1])
    sentence = re.sub(r"\s*\[\d+\]$", "", model_said.replace("From the help centre:", "")).strip()
    # The model writes Markdown; Slack gets mrkdwn (`**b**` -> `*b*`, `& < >` as entities).
    mrkdwn = re.sub(r"\*\*(.+?)\*\*", r"*\1*", sentence)
    mrkdwn = mrkdwn.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    (post,) = posts
    sections = " ".join(b["text"]["text"] for b in post.params["blocks"] if b["type"] == "section")
    assert mrkdwn in sections, sections
    assert re.search(r"<https://help\.nimbushome\.example/articles/[^|>]+\|\[\d+\]>", sections)
    assert post.params["channel"] == "C100"


def test_follow_up_in_the_thread_is_the_same_conversation(channel_stack, slack_api):
    envelope, ts = mention("hi")
    slack_event(channel_stack, envelope)
    slack_api.wait_for("chat.postMessage", where=lambda r: r.params.get("thread_ts") == ts)
    follow, _ = mention("thanks", thread_ts=ts)
    slack_event(channel_stack, follow)
    replies = slack_api.wait_for("chat.postMessage", 2, where=lambda r: r.params.get("thread_ts") == ts)
    assert "welcome" in posted_text(replies[1]).lower()


def test_retried_event_sent_three_times_is_answered_once(channel_stack, slack_api):
    envelope, ts = mention("hello there")
    replies = [slack_event(channel_stack, envelope, retry=n) for n in range(3)]
    assert [r.status for r in replies] == [200, 200, 200]
    slack_api.wait_for("chat.postMessage", where=lambda r: r.params.get("thread_ts") == ts)
    said = after_a_later_turn(
        channel_stack,
        f"slack:T1:C100:{ts}",
        lambda: slack_event(channel_stack, mention("thanks", thread_ts=ts)[0]),
        1,
    )
    assert said == ["hello there", "thanks"]  # a wrongly accepted retry would sit between them
    assert len(thread_posts(slack_api, "C100", ts)) == 2


def test_slow_answer_is_acknowledged_at_once_and_still_delivered(
    channel_stack, slack_api, openai_latency_standin
):
    openai_latency_standin.latency = 5.0
    try:
        envelope, ts = mention("How long does shipping take?")
        reply = slack_event(channel_stack, envelope)
        assert reply.status == 200
        assert reply.seconds < 1.0, f"ack took {reply.seconds:.2f} s"
        started = time.monotonic()
        slack_api.wait_for("chat.postMessage", where=lambda r: r.params.get("thread_ts") == ts, timeout=90)
        assert time.monotonic() - started >= 3.0  # the answer really was slow
    finally:
        openai_latency_standin.latency = 0.0


def test_bot_messages_edits_and_channel_chatter_are_ignored(channel_stack, slack_api):
    first, ts = mention("hi")
    slack_event(channel_stack, first)
    slack_api.wait_for("chat.postMessage", where=lambda r: r.params.get("thread_ts") == ts)
    changes = (
        {"bot_id": BOT_ID},
        {"subtype": "message_changed"},
        {"type": "message", "channel_type": "channel"},
        {"user": BOT_USER_ID},
    )
    for n, change in enumerate(changes):  # each into the same thread, so the same conversation
        envelope, _ = mention(f"chatter {n}", thread_ts=ts)
        envelope["event"].update(change)
        assert slack_event(channel_stack, envelope).status == 200
    said = after_a_later_turn(
        channel_stack,
        f"slack:T1:C100:{ts}",
        lambda: slack_event(channel_stack, mention("thanks", thread_ts=ts)[0]),
        1,
    )
    assert said == ["hi", "thanks"]  # none of the four reached the dialogue
    assert len(thread_posts(slack_api, "C100", ts)) == 2


def test_direct_message_is_answered_without_a_thread(channel_stack, slack_api):
    envelope, ts = mention("hi", channel="D555")
    envelope["event"].update({"type": "message", "channel_type": "im", "text": "hi"})
    assert slack_event(channel_stack, envelope).status == 200
    (answer,) = slack_api.wait_for("chat.postMessage", where=lambda r: r.params.get("channel") == "D555")
    assert "thread_ts" not in answer.params


def test_button_press_is_forwarded_and_acknowledged_quietly(channel_stack, slack_api):
    envelope, ts = mention("hi", channel="C777")
    slack_event(channel_stack, envelope)
    slack_api.wait_for("chat.postMessage", where=lambda r: r.params.get("thread_ts") == ts)
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U1", "username": "ann"},
        "channel": {"id": "C777"},
        "trigger_id": "trig-1",
        "container": {"type": "message"},
        "message": {"ts": f"{ts}9", "thread_ts": ts, "bot_id": BOT_ID},
        "actions": [{"action_id": "helpful", "type": "button", "value": "/thanks", "action_ts": "1.2"}],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    reply = post(
        f"{channel_stack.rasa_url}/webhooks/slack/interactions",
        body,
        slack_signed_headers(body, content_type="application/x-www-form-urlencoded"),
    )
    assert reply.status == 200 and reply.body == b""
    posts = slack_api.wait_for("chat.postMessage", 2, where=lambda r: r.params.get("thread_ts") == ts)
    assert "welcome" in posted_text(posts[1]).lower()
    assert [e["text"] for e in user_events(channel_stack, f"slack:T1:C777:{ts}", 2)][-1] == "/thanks"


def _signed(body: bytes, **kw) -> dict[str, str]:
    return slack_signed_headers(body, **kw)


@pytest.mark.parametrize("case", ["bad_signature", "missing_header", "stale", "wrong_secret"])
def test_forged_requests_get_401_and_reach_nobody(channel_stack, slack_api, case):
    envelope, ts = mention("forged hello")
    body = json.dumps(envelope).encode()
    headers = _signed(body)
    if case == "bad_signature":
        headers["X-Slack-Signature"] = "v0=" + "ab" * 32
    elif case == "missing_header":
        del headers["X-Slack-Signature"]
    elif case == "stale":
        headers = _signed(body, timestamp=int(time.time()) - 600)
    else:
        headers = _signed(body, secret="not-the-secret")
    reply = post(f"{channel_stack.rasa_url}/webhooks/slack/events", body, headers)
    assert reply.status == 401
    genuine, genuine_ts = mention("hello", thread_ts=ts)  # the same conversation, signed properly
    said = after_a_later_turn(
        channel_stack, f"slack:T1:C100:{ts}", lambda: slack_event(channel_stack, genuine), 0
    )
    assert said == ["hello"]
    assert len(thread_posts(slack_api, "C100", ts)) == 1
    assert not slack_api.calls("reactions.add", lambda r: r.params.get("timestamp") == ts)
    assert "forged hello" not in rasa_log(channel_stack)


def test_replayed_request_is_answered_once(channel_stack, slack_api):
    envelope, ts = mention("hi")
    body = json.dumps(envelope).encode()
    headers = _signed(body)
    first = post(f"{channel_stack.rasa_url}/webhooks/slack/events", body, headers)
    replay = post(f"{channel_stack.rasa_url}/webhooks/slack/events", body, headers)
    assert first.status == replay.status == 200
    slack_api.wait_for("chat.postMessage", where=lambda r: r.params.get("thread_ts") == ts)
    said = after_a_later_turn(
        channel_stack,
        f"slack:T1:C100:{ts}",
        lambda: slack_event(channel_stack, mention("thanks", thread_ts=ts)[0]),
        1,
    )
    assert said == ["hi", "thanks"]
    assert len(thread_posts(slack_api, "C100", ts)) == 2


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"{not json", "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b'{"type": "event_callback"}', "application/json", 400),
        (
            b'{"type": "event_callback", "event_id": "Ev9", "event": {"type": "app_mention", "user": "U1",'
            b' "text": "hi"}}',
            "application/json",
            400,
        ),
        (
            b'{"type": "event_callback", "event_id": "EvU", "event": {"type": "app_mention", "user": "U1",'
            b' "channel": "C1", "ts": "1.1", "text": "\\ud800 hi"}}',
            "application/json",
            400,
        ),
        (b"\xff\xfe\x00garbage", "application/json", 400),
        (b"hello", "text/plain", 415),
        (b"payload=%7Bnot", "application/x-www-form-urlencoded", 400),
        (b'{"type": "event_callback", "pad": "' + b"x" * 300_000 + b'"}', "application/json", 413),
    ],
    ids=[
        "invalid-json",
        "json-array",
        "no-event",
        "event-without-channel",
        "lone-surrogate",
        "not-utf8",
        "text-plain",
        "broken-form-payload",
        "oversized",
    ],
)
def test_malformed_bodies_get_4xx_and_never_reach_rasa(
    channel_stack, slack_api, body, content_type, expected
):
    before = len(slack_api.requests)
    reply = post(
        f"{channel_stack.rasa_url}/webhooks/slack/events", body, _signed(body, content_type=content_type)
    )
    assert reply.status == expected
    # A request that reached the dialogue would have started its turn before this later one.
    later, ts = mention("hello")
    after_a_later_turn(channel_stack, f"slack:T1:C100:{ts}", lambda: slack_event(channel_stack, later), 0)
    slack_api.wait_for("reactions.remove", where=lambda r: r.params.get("timestamp") == ts)
    # The team channel is left out: an earlier test's handoff may report its wait there
    # now (a timer of that conversation, not this request).
    since = [r for r in slack_api.requests[before:] if r.params.get("channel") != SLACK_TEAM_CHANNEL]
    about_later = [r for r in since if ts in (r.params.get("thread_ts"), r.params.get("timestamp"))]
    assert since == about_later
