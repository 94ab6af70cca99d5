"""Slack: request signing, which events reach the bot, and what the Web API receives."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from slack_sdk.signature import Clock
from slack_sdk.web.async_client import AsyncWebClient

from connectors.common.credentials import ChannelConfigError
from connectors.common.webhook import Rejected
from connectors.slack import SlackInput
from connectors.slack.events import from_block_actions, from_event
from connectors.slack.output import SlackOutput
from tests.standins.http_standin import Failure
from tests.standins.slack_api import SlackStandIn

# Slack's published example ("Verifying requests from Slack").
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


class FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


def channel_at(now: float) -> SlackInput:
    return SlackInput("xoxb-test-token", DOC_SECRET, clock=FixedClock(now))


def test_slack_documented_signature_example_verifies():
    channel_at(float(DOC_TIMESTAMP)).verifier.check(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE)


@pytest.mark.parametrize(
    ("body", "timestamp", "signature", "reason"),
    [
        (DOC_BODY + b"&x=1", DOC_TIMESTAMP, DOC_SIGNATURE, "invalid signature"),
        (DOC_BODY, DOC_TIMESTAMP, "v0=" + "0" * 64, "invalid signature"),
        (DOC_BODY, DOC_TIMESTAMP, None, "missing"),
        (DOC_BODY, None, DOC_SIGNATURE, "missing"),
        (DOC_BODY, "yesterday", DOC_SIGNATURE, "malformed"),
    ],
)
def test_forged_or_incomplete_requests_are_rejected(body, timestamp, signature, reason):
    with pytest.raises(Rejected) as info:
        channel_at(float(DOC_TIMESTAMP)).verifier.check(body, timestamp, signature)
    assert info.value.status == 401 and reason in info.value.reason


@pytest.mark.parametrize("skew", [301, -301, 3600])
def test_stale_timestamp_is_rejected_even_with_a_valid_signature(skew):
    with pytest.raises(Rejected, match="stale"):
        channel_at(float(DOC_TIMESTAMP) + skew).verifier.check(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE)


def test_within_the_five_minute_window_is_accepted():
    channel_at(float(DOC_TIMESTAMP) + 299).verifier.check(DOC_BODY, DOC_TIMESTAMP, DOC_SIGNATURE)


def test_missing_or_empty_credentials_fail_at_startup_naming_the_variable():
    with pytest.raises(ChannelConfigError, match="SLACK_SIGNING_SECRET"):
        SlackInput.from_credentials({"bot_token": "xoxb-1", "signing_secret": ""})
    with pytest.raises(ChannelConfigError, match="SLACK_APP_TOKEN"):
        SlackInput.from_credentials({"bot_token": "xoxb-1", "signing_secret": "s", "socket_mode": "true"})
    with pytest.raises(ChannelConfigError, match="granularity"):
        SlackInput.from_credentials(
            {"bot_token": "x", "signing_secret": "s", "conversation_granularity": "team"}
        )


def envelope(event: dict, event_id: str = "Ev1") -> dict:
    return {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": event_id,
        "event": event,
        "authorizations": [{"user_id": "UBOT", "is_bot": True}],
    }


MENTION = {
    "type": "app_mention",
    "user": "U1",
    "text": "<@UBOT> how do I reset my thermostat?",
    "channel": "C1",
    "ts": "100.1",
    "client_msg_id": "m-1",
}


def test_mention_in_channel_is_answered_in_its_thread_per_thread_conversation():
    inbound = from_event(envelope(MENTION), "thread", None)
    assert inbound.text == "how do I reset my thermostat?"
    assert inbound.thread_ts == "100.1" and inbound.channel == "C1"
    assert inbound.sender_id == "slack:T1:C1:100.1"
    assert inbound.message_id == "m-1"
    assert inbound.metadata["slack"]["team"] == "T1" and inbound.metadata["slack"]["user"] == "U1"
    reply_in_thread = from_event(envelope({**MENTION, "ts": "100.9", "thread_ts": "100.1"}), "thread", None)
    assert reply_in_thread.sender_id == inbound.sender_id and reply_in_thread.thread_ts == "100.1"


@pytest.mark.parametrize(("granularity", "expected"), [("channel", "slack:T1:C1"), ("user", "slack:T1:U1")])
def test_conversation_granularity_is_configurable(granularity, expected):
    assert from_event(envelope(MENTION), granularity, None).sender_id == expected


def test_direct_message_is_answered_in_place():
    dm = {"type": "message", "channel_type": "im", "user": "U1", "text": "hi", "channel": "D1", "ts": "5.5"}
    inbound = from_event(envelope(dm), "thread", None)
    assert inbound.thread_ts is None and inbound.sender_id == "slack:T1:D1"


@pytest.mark.parametrize(
    "event",
    [
        {**MENTION, "bot_id": "B1"},  # another bot
        {**MENTION, "user": "UBOT"},  # ourselves
        {**MENTION, "subtype": "message_changed"},  # edits
        {**MENTION, "subtype": "message_deleted"},  # deletes
        {**MENTION, "type": "message", "channel_type": "channel"},  # channel chatter without mention
        {**MENTION, "type": "reaction_added"},
        {**MENTION, "text": "<@UBOT>"},  # a bare mention: nothing to answer
    ],
)
def test_noise_never_reaches_the_bot(event):
    assert from_event(envelope(event), "thread", None) is None


def test_event_without_id_is_a_bad_request():
    with pytest.raises(Rejected) as info:
        from_event({"type": "event_callback", "event": MENTION}, "thread", None)
    assert info.value.status == 400


def test_button_press_becomes_the_buttons_value():
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": {"id": "U1", "username": "ann"},
        "channel": {"id": "C1"},
        "trigger_id": "tr1",
        "message": {"ts": "100.5", "thread_ts": "100.1"},
        "actions": [
            {"action_id": "helpful", "value": '/feedback_helpful{"ref":"abc"}', "action_ts": "101.0"}
        ],
    }
    inbound = from_block_actions(payload, "thread")
    assert inbound.text == '/feedback_helpful{"ref":"abc"}'
    assert inbound.sender_id == "slack:T1:C1:100.1" and inbound.thread_ts == "100.1"
    assert inbound.metadata["slack"]["user_name"] == "ann"


@pytest.fixture
def slack_api():
    server = SlackStandIn().start()
    yield server
    server.stop()


def run_output(slack_api: SlackStandIn, action, thread_ts: str | None = "100.1"):
    async def scenario():
        client = AsyncWebClient(token="xoxb-test-token", base_url=slack_api.base_url, retry_handlers=[])
        await action(SlackOutput(client, "C1", thread_ts, "slack:T1:C1:100.1"))

    asyncio.run(scenario())


def test_plain_text_is_escaped_split_and_threaded(slack_api):
    long_text = "\n\n".join(f"Paragraph {i} <b>&</b> " + "word " * 150 for i in range(8))
    run_output(slack_api, lambda out: out.send_text_message("u", long_text))
    posts = slack_api.posts("C1")
    assert len(posts) >= 2
    assert all(p.params["thread_ts"] == "100.1" for p in posts)
    assert all(len(p.params["text"]) <= 3900 for p in posts)
    joined = "".join(p.params["text"] for p in posts)
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in joined and "<b>" not in joined
    assert posts[0].params["text"].startswith("Paragraph 0") and posts[1].params["text"].startswith(
        "Paragraph"
    )


def test_rich_payload_sends_blocks_with_text_fallback(slack_api):
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Reset*: hold the dial <https://x|[1]>"}}
    ]
    payload = {
        "slack": {"text": "Reset: hold the dial", "blocks": blocks},
        "telegram": {"html": "<b>x</b>"},
        "handoff": {"reason": "asked"},
    }
    run_output(slack_api, lambda out: out.send_custom_json("u", payload))
    (post,) = slack_api.posts()
    assert post.params["blocks"] == blocks
    assert post.params["text"] == "Reset: hold the dial" and post.params["thread_ts"] == "100.1"


def test_payload_for_other_channels_falls_back_to_answer_or_is_ignored(slack_api):
    run_output(
        slack_api, lambda out: out.send_custom_json("u", {"telegram": {"html": "x"}, "answer": "Plain <a>"})
    )
    run_output(slack_api, lambda out: out.send_custom_json("u", {"handoff": {"queue": "support"}}))
    assert [p.params["text"] for p in slack_api.posts()] == ["Plain &lt;a&gt;"]


def test_rate_limit_is_retried_after_the_retry_after_delay(slack_api):
    slack_api.fail(
        "chat.postMessage", Failure(429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"})
    )
    run_output(slack_api, lambda out: out.send_text_message("u", "hello"))
    first, second = slack_api.calls("chat.postMessage")
    assert second.at - first.at >= 0.95
    assert second.params["text"] == "hello"


def test_server_errors_are_retried_then_given_up(slack_api, caplog):
    slack_api.fail("chat.postMessage", *[Failure(503, body={"ok": False, "error": "fatal_error"})] * 10)
    with caplog.at_level("ERROR"):
        run_output(slack_api, lambda out: out.send_text_message("u", "hello"))
    assert len(slack_api.calls("chat.postMessage")) == 4
    assert "slack:T1:C1:100.1" in caplog.text


def test_permanent_api_errors_are_not_retried(slack_api):
    async def post_to_missing(out: SlackOutput):
        out.channel = ""
        await out.send_text_message("u", "hello")

    run_output(slack_api, post_to_missing)
    assert len(slack_api.calls("chat.postMessage")) == 1


def test_dm_reply_has_no_thread(slack_api):
    run_output(slack_api, lambda out: out.send_text_message("u", "hi"), thread_ts=None)
    (post,) = slack_api.posts()
    assert "thread_ts" not in post.params


def test_buttons_become_an_actions_block(slack_api):
    buttons = [
        {"title": "Yes", "payload": '/feedback_helpful{"ref":"abc"}'},
        {"title": "No", "payload": "/no"},
    ]
    run_output(slack_api, lambda out: out.send_text_with_buttons("u", "Did that help?", buttons))
    (post,) = slack_api.posts()
    actions = post.params["blocks"][-1]
    assert actions["type"] == "actions"
    assert [e["value"] for e in actions["elements"]] == [b["payload"] for b in buttons]
    assert json.dumps(post.params["blocks"])  # serialisable as sent


def test_retried_event_reaches_rasa_once_with_eyes_reaction(slack_api):
    received = []

    async def on_new_message(message):
        received.append(message)
        await message.output_channel.send_text_message(message.sender_id, "answer")

    async def scenario():
        channel = SlackInput("xoxb-test-token", "secret", api_base_url=slack_api.base_url)
        for _ in range(3):
            await channel.handle_envelope(envelope(MENTION, "EvRetry"), on_new_message)
        await channel.runner.drain(10)

    asyncio.run(scenario())
    assert len(received) == 1 and received[0].metadata["slack"]["event_id"] == "EvRetry"
    (post,) = slack_api.posts()
    assert post.params["thread_ts"] == "100.1"
    (added,) = slack_api.calls("reactions.add")
    (removed,) = slack_api.calls("reactions.remove")
    assert added.params["name"] == removed.params["name"] == "eyes"
    assert added.at <= post.at <= removed.at


SLOW_REACTION = 1.0  # seconds reactions.add takes; far beyond what a turn's start may wait


def _answer_with_slow_reaction(slack_api, parts: int = 1) -> float:
    """Seconds from the event to the turn reaching Rasa, with reactions.add taking SLOW_REACTION."""
    slack_api.slow("reactions.add", SLOW_REACTION)
    reached = []

    async def on_new_message(message):
        reached.append(time.monotonic())
        for part in range(parts):
            await message.output_channel.send_text_message(message.sender_id, f"answer part {part}")

    async def scenario() -> float:
        channel = SlackInput("xoxb-test-token", "secret", api_base_url=slack_api.base_url)
        started = time.monotonic()
        await channel.handle_envelope(envelope(MENTION, "EvSlowReaction"), on_new_message)
        await channel.runner.drain(10)
        return started

    started = asyncio.run(scenario())
    return reached[0] - started


def test_turn_is_processed_while_the_eyes_reaction_is_added_and_the_answer_follows_it(slack_api):
    assert _answer_with_slow_reaction(slack_api) < SLOW_REACTION / 2  # did not wait for reactions.add
    (added,) = slack_api.calls("reactions.add")
    (post,) = slack_api.posts()
    (removed,) = slack_api.calls("reactions.remove")
    # The answer is sent once the reaction is on the message (SLOW_REACTION after its
    # request), and the reaction is removed after the answer.
    assert post.at - added.at >= SLOW_REACTION - 0.05
    assert post.at <= removed.at


def test_answer_does_not_wait_long_for_a_stuck_reaction(slack_api, monkeypatch):
    from connectors.slack import output

    monkeypatch.setattr(output, "REACTION_WAIT_SECONDS", 0.2)
    _answer_with_slow_reaction(slack_api, parts=3)
    (added,) = slack_api.calls("reactions.add")
    posts = slack_api.posts()
    assert len(posts) == 3
    # Replied without waiting out the slow reaction, and only the first part waited.
    assert posts[-1].at - added.at < 0.2 + SLOW_REACTION / 2
    (removed,) = slack_api.calls("reactions.remove")
    assert removed.at - added.at >= SLOW_REACTION - 0.05  # removed only once it had been added


def test_body_that_is_not_utf8_is_a_400_not_a_crash():
    with pytest.raises(Rejected) as info:
        channel_at(float(DOC_TIMESTAMP)).verifier.check(b"\xff\xfe{}", DOC_TIMESTAMP, DOC_SIGNATURE)
    assert info.value.status == 400


def test_fields_of_the_wrong_type_are_a_400():
    async def never(message):
        raise AssertionError("reached Rasa")

    channel = channel_at(0)
    bad_event = {"type": "event_callback", "event_id": "E1", "event": {**MENTION, "channel": {"id": "C1"}}}
    bad_press = {
        "type": "block_actions",
        "team": "T1",
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "actions": [{"value": "/thanks"}],
    }
    for scenario in (channel.handle_envelope(bad_event, never), channel.handle_interaction(bad_press, never)):
        with pytest.raises(Rejected) as info:
            asyncio.run(scenario)
        assert info.value.status == 400
