"""The Slack team channel as the agent desk, end to end: real connectors, `rasa run` and the
action server, with the Slack, Twilio and Telegram stand-ins. A customer asks for a person;
an agent answers in the handoff's thread and the customer gets it on their own channel,
in its format; the customer's reply shows up in the thread; Claim and Resolve work from
the thread's buttons, and after Resolve the bot answers again."""

from __future__ import annotations

import itertools
import json
import time
import urllib.parse

import pytest

from tests.e2e.channels import (
    SLACK_TEAM_CHANNEL,
    post,
    rasa_log,
    slack_event,
    slack_signed_headers,
    sms_conversation,
    telegram_update,
)
from tests.e2e.settled import stored_turn
from tests.e2e.test_handoff_to_team_channel import for_team, text_sms, variant
from tests.standins.slack_api import BOT_ID, BOT_USER_ID, TEAM_ID

AGENT = "U0AGENTANN"
_n = itertools.count(int(time.time()) % 100000 * 100 + 70)


@pytest.fixture(autouse=True)
def agents(slack_api):
    slack_api.users[AGENT] = {"display_name": "Ann", "real_name": "Ann Example", "name": "ann"}


def in_thread(root: str):
    return lambda r: r.params.get("channel") == SLACK_TEAM_CHANNEL and r.params.get("thread_ts") == root


def thread_texts(slack_api, root: str) -> list[str]:
    return [r.params.get("text", "") for r in slack_api.calls("chat.postMessage", in_thread(root))]


def wait_in_thread(slack_api, root: str, fragment: str, timeout: float = 60) -> str:
    (found,) = slack_api.wait_for(
        "chat.postMessage",
        where=lambda r: in_thread(root)(r) and fragment in r.params.get("text", ""),
        timeout=timeout,
    )[-1:]
    return found.params["text"]


def agent_writes(stack, root: str, text: str, user: str = AGENT, **extra) -> None:
    """A message in the team channel, as Slack's Events API delivers it (`message.channels`)."""
    ts = f"{int(time.time())}.{next(_n):06d}"
    event = {
        "type": "message",
        "channel": SLACK_TEAM_CHANNEL,
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": root,
        "event_ts": ts,
        **extra,
    }
    envelope = {
        "type": "event_callback",
        "team_id": TEAM_ID,
        "event_id": f"Ev{next(_n):010d}",
        "event": event,
        "authorizations": [{"user_id": BOT_USER_ID}],
    }
    assert slack_event(stack, envelope).status == 200


def press(stack, root: str, action_id: str, user: str = AGENT, username: str = "ann") -> None:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": user, "username": username, "name": username},
        "channel": {"id": SLACK_TEAM_CHANNEL},
        "container": {"type": "message", "message_ts": root, "channel_id": SLACK_TEAM_CHANNEL},
        "message": {"ts": root, "bot_id": BOT_ID},
        "trigger_id": f"trig.{next(_n)}",
        "actions": [{"action_id": action_id, "block_id": "handoff_desk", "action_ts": f"{time.time():.6f}"}],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    headers = slack_signed_headers(body, content_type="application/x-www-form-urlencoded")
    assert post(f"{stack.rasa_url}/webhooks/slack/interactions", body, headers).status == 200


def notice_of(slack_api, conversation: str):
    (notice,) = slack_api.wait_for(
        "chat.postMessage", where=lambda r: for_team(conversation)(r) and "blocks" in r.params
    )
    return notice


def test_an_sms_customer_talks_to_an_agent_through_the_slack_thread(channel_stack, slack_api, twilio_api):
    sender = f"+1646557{next(_n) % 10000:04d}"
    conversation = sms_conversation(sender)
    to_customer = lambda r: r.params.get("To") == sender  # noqa: E731

    assert text_sms(channel_stack, twilio_api, sender, "I want to talk to a human") == [
        variant("utter_handoff", "sms")
    ]
    notice = notice_of(slack_api, conversation)
    root_ts = notice.reply["ts"]  # the thread: what Slack answered for the notice
    blocks = json.dumps(notice.params["blocks"])
    assert "the customer asked for a person" in blocks and "(sms)" in blocks
    assert '"handoff_claim"' in blocks and '"handoff_resolve"' in blocks  # the desk's buttons

    # The agent answers in the thread, in Slack's mrkdwn (Slack sends &, <, > escaped).
    agent_writes(
        channel_stack,
        root_ts,
        "Hi, *sorry* about that! See "
        "<https://help.nimbushome.example/articles/refund-timing|the refund article>"
        " &amp; tell me your order number.",
    )
    (texted,) = twilio_api.wait_for("Messages", where=to_customer)
    assert texted.params["Body"] == (
        "Ann: Hi, sorry about that! See the refund article "
        "(https://help.nimbushome.example/articles/refund-timing) & tell me your order number."
    )
    # The first reply claims the handoff for that agent, and the thread says so.
    assert "*Ann* took this conversation" in wait_in_thread(slack_api, root_ts, "took this conversation")

    # The customer's answer reaches the thread; the bot itself says nothing.
    assert (
        text_sms(channel_stack, twilio_api, sender, "It's order NX-4411-QZ, thanks", expect_reply=False) == []
    )
    assert wait_in_thread(slack_api, root_ts, "Customer:") == "*Customer:* It's order NX-4411-QZ, thanks"

    # In the tracker the agent's words are an agent message, not the bot's.
    from tests.e2e.conftest import tracker

    said = [e for e in tracker(channel_stack, conversation)["events"] if e["event"] == "bot"]
    agent_said = [e for e in said if "agent_message" in ((e.get("data") or {}).get("custom") or {})]
    assert len(agent_said) == 1 and agent_said[0]["data"]["custom"]["agent_message"]["agent"] == "Ann"

    press(channel_stack, root_ts, "handoff_claim")
    assert len(wait_for_count(slack_api, root_ts, "took this conversation", 2)) == 2
    press(channel_stack, root_ts, "handoff_resolve")
    assert "Resolved by *Ann*" in wait_in_thread(slack_api, root_ts, "Resolved by")
    (told,) = twilio_api.wait_for("Messages", 2, where=to_customer)[1:]
    assert told.params["Body"] == variant("utter_handoff_resolved", "sms")

    answer = text_sms(channel_stack, twilio_api, sender, "how long do refunds take?")
    assert answer and "refund" in " ".join(answer).lower()

    # A late reply in the closed thread is not sent; the agent is told so.
    agent_writes(channel_stack, root_ts, "one more thing")
    assert "not* sent" in wait_in_thread(slack_api, root_ts, "back with the bot")
    # The desk decided before posting that notice: nothing more reached the customer from Ann.
    assert len(twilio_api.calls("Messages", lambda r: to_customer(r) and "Ann:" in r.params["Body"])) == 1
    for log in (rasa_log(channel_stack), (channel_stack.log_dir / "actions.log").read_text(errors="replace")):
        assert sender not in log and "NX-4411-QZ" not in log and "refund article" not in log


def wait_for_count(slack_api, root: str, fragment: str, count: int) -> list[str]:
    found = slack_api.wait_for(
        "chat.postMessage", count, where=lambda r: in_thread(root)(r) and fragment in r.params.get("text", "")
    )
    return [r.params["text"] for r in found]


def test_the_desk_ignores_bots_other_channels_and_messages_outside_handoff_threads(
    channel_stack, slack_api, twilio_api
):
    sender = f"+1646558{next(_n) % 10000:04d}"
    conversation = sms_conversation(sender)
    text_sms(channel_stack, twilio_api, sender, "I want to talk to a human")
    notice = notice_of(slack_api, conversation)
    root_ts = notice.reply["ts"]
    agent_writes(channel_stack, root_ts, "bot echo", bot_id=BOT_ID)  # our own post coming back
    agent_writes(channel_stack, root_ts, "edited", subtype="message_changed")
    agent_writes(channel_stack, "1600000000.000001", "not a handoff thread")
    other = {"channel": "C0SOMEWHERE"}
    agent_writes(channel_stack, root_ts, "wrong channel", **other)
    agent_writes(channel_stack, root_ts, "the real one")
    (texted,) = twilio_api.wait_for("Messages", where=lambda r: r.params.get("To") == sender)
    # Rasa runs a conversation's external intents in order: the real one was the first to
    # reach the customer, and nothing else did.
    stored_turn(channel_stack, conversation, "EXTERNAL: EXTERNAL_agent_message")
    assert texted.params["Body"] == "Ann: the real one"
    assert len(twilio_api.calls("Messages", lambda r: r.params.get("To") == sender)) == 1


def test_a_telegram_customer_talks_to_an_agent_through_the_slack_thread(
    channel_stack, slack_api, telegram_api
):
    chat = 7300 + next(_n) % 1000
    conversation = f"telegram:{chat}"
    to_chat = lambda r: int(r.params["chat_id"]) == chat  # noqa: E731

    def customer_says(text: str) -> None:
        update = {
            "update_id": next(_n),
            "message": {
                "message_id": next(_n),
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "from": {"id": chat, "is_bot": False, "first_name": "Tom"},
                "text": text,
            },
        }
        assert telegram_update(channel_stack, update).status == 200

    customer_says("I want to talk to a human")
    telegram_api.wait_for("sendMessage", where=to_chat)
    notice = notice_of(slack_api, conversation)
    root_ts = notice.reply["ts"]
    assert "(telegram)" in json.dumps(notice.params["blocks"])

    agent_writes(channel_stack, root_ts, "Hello! Try `Settings &gt; Reset` and _wait_ 10 s.")
    sent = telegram_api.wait_for("sendMessage", 2, where=to_chat)[1]
    assert sent.params["parse_mode"] == "HTML"
    assert (
        sent.params["text"] == "<b>Ann:</b> Hello! Try <code>Settings &gt; Reset</code> and <i>wait</i> 10 s."
    )

    customer_says("done, it works")
    assert wait_in_thread(slack_api, root_ts, "Customer:") == "*Customer:* done, it works"
    press(channel_stack, root_ts, "handoff_claim")
    wait_in_thread(slack_api, root_ts, "took this conversation")
    press(channel_stack, root_ts, "handoff_resolve")
    wait_in_thread(slack_api, root_ts, "Resolved by")
    told = telegram_api.wait_for("sendMessage", 3, where=to_chat)[2]
    assert told.params["text"] == variant("utter_handoff_resolved")

    customer_says("how long do refunds take?")
    stored_turn(channel_stack, conversation, "how long do refunds take?")
    answer = " ".join(r.params["text"] for r in telegram_api.calls("sendMessage", to_chat)[3:])
    assert "refund" in answer.lower()


def test_a_web_customer_gets_the_agents_reply_by_polling_or_with_the_next_answer(channel_stack, slack_api):
    from tests.e2e.conftest import say

    sender = f"web-desk-{next(_n)}"
    say(channel_stack, sender, "I want to talk to a human")
    root = notice_of(slack_api, f"web:{sender}").reply["ts"]
    agent_writes(channel_stack, root, "Hello from *Ann*")
    agent_messages(channel_stack, f"web:{sender}", 1)  # stored once sent (here: kept for the client)

    def poll() -> list[dict]:
        body = json.dumps({"sender": sender}).encode()
        reply = post(
            f"{channel_stack.rasa_url}/webhooks/rest/poll", body, {"Content-Type": "application/json"}
        )
        assert reply.status == 200
        return reply.json()

    (message,) = poll()
    # Rasa's REST shape for a custom payload; `text` is the plain version for any web client.
    assert (
        message["custom"]["text"] == "Ann: Hello from Ann"
        and message["custom"]["agent_message"]["agent"] == "Ann"
    )
    assert poll() == []  # handed out once
    agent_writes(channel_stack, root, "Still there?")
    agent_messages(channel_stack, f"web:{sender}", 2)  # stored after it was sent (here: kept)
    # Without polling, the next response carries it first (the bot itself stays silent).
    assert [r["custom"]["text"] for r in say(channel_stack, sender, "yes")] == ["Ann: Still there?"]


def agent_messages(stack, conversation: str, count: int, timeout: float = 60) -> list[dict]:
    from tests.e2e.conftest import tracker

    deadline = time.monotonic() + timeout
    while True:
        found = [
            e
            for e in tracker(stack, conversation)["events"]
            if e["event"] == "bot" and "agent_message" in ((e.get("data") or {}).get("custom") or {})
        ]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} agent messages in {conversation}"
        time.sleep(0.2)
