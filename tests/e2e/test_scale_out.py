"""Two Rasa replicas behind an imaginary load balancer, sharing one real Redis (Rasa's own
Redis tracker store and lock store, `endpoints.redis.yml`) and one action server.

A load balancer may send any turn of a conversation to any replica, including two turns
of the same conversation at the same moment (a customer typing fast, a platform retry).
The customer must not notice: context carries over, and turns are answered in order.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from tests.e2e.channels import TELEGRAM_SECRET, TELEGRAM_TOKEN, telegram_update
from tests.e2e.conftest import say, texts, tracker
from tests.e2e.redis_stack import require_redis, start_replicas
from tests.standins.openai_server import OpenAIStandIn

MODEL_LATENCY = 1.0  # seconds: wide enough that two overlapping turns would visibly overlap


class TimedRequests(list):
    """The stand-in's request log, with the moment each request arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[float] = []
        self._lock = threading.Lock()

    def append(self, body) -> None:  # noqa: ANN001 - the stand-in's JSON body
        with self._lock:
            self.arrived.append(time.monotonic())
            super().append(body)

    def for_question(self, fragment: str) -> list[tuple[float, dict]]:
        pairs = zip(self.arrived, self, strict=True)
        return [(t, b) for t, b in pairs if fragment in b["messages"][-1]["content"]]


@pytest.fixture(scope="module")
def slow_model():
    require_redis()
    server = OpenAIStandIn(latency=MODEL_LATENCY).start()
    server.requests = TimedRequests()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def replica_credentials(tmp_path_factory, telegram_api):
    """REST plus our Telegram channel; its dedupe store is the replicas' Redis (REDIS_URL)."""
    path = tmp_path_factory.mktemp("scale-creds") / "credentials.yml"
    config = {
        "connectors.rest.RestInput": None,
        "connectors.telegram.TelegramInput": {
            "token": TELEGRAM_TOKEN,
            "webhook_secret": TELEGRAM_SECRET,
            "base_url": telegram_api.base_url,
        },
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, model, replica_credentials, kb_uri, slow_model):
    env = {
        "OPENAI_API_KEY": "sk-test-standin",
        "OPENAI_BASE_URL": slow_model.base_url,
        "OPENAI_MODEL": "stand-in-model",
        "OPENAI_TIMEOUT": "10",
        "OPENAI_MAX_RETRIES": "0",
    }
    group = start_replicas(tmp_path_factory.mktemp("scale"), model, replica_credentials, kb_uri, env)
    yield group
    group.stop()


def user_texts(events: list[dict]) -> list[str]:
    return [e["text"] for e in events if e["event"] == "user"]


def test_turns_alternating_between_replicas_keep_the_conversation(replicas, slow_model):
    a, b = replicas.stacks
    sender = "alternating-customer"
    first = say(a, sender, "do you ship to canada?")
    assert "[1]" in texts(first)
    # The next turn lands on the other replica: it must know what was said on the first.
    second = say(b, sender, "how long does that take?")
    assert "[1]" in texts(second)
    asked = slow_model.requests.for_question("how long does that take")
    prompt = asked[-1][1]["messages"][0]["content"]
    assert "customer: do you ship to canada?" in prompt, prompt
    third = say(a, sender, "thanks!")
    assert texts(third)

    expected = ["do you ship to canada?", "how long does that take?", "thanks!"]
    seen_by_a = tracker(a, sender)["events"]
    seen_by_b = tracker(b, sender)["events"]
    assert user_texts(seen_by_a) == expected
    assert user_texts(seen_by_b) == expected
    # Every reply the customer got is in the shared history, whichever replica sent it.
    bot_said = [e["text"] for e in seen_by_a if e["event"] == "bot"]
    for replies in (first, second, third):
        for message in replies:
            if message.get("text"):
                # The REST channel splits a reply at blank lines; the history keeps it whole.
                assert any(message["text"] in said for said in bot_said), message["text"]


def turns(events: list[dict]) -> list[list[dict]]:
    """Split a history into turns, each starting at a user message."""
    out: list[list[dict]] = []
    for event in events:
        if event["event"] == "user":
            out.append([event])
        elif out:
            out[-1].append(event)
    return out


def send_together(pairs: list[tuple[object, str, str]]) -> list[list[dict]]:
    """Fire every (replica, sender, text) at the same instant."""
    start = threading.Barrier(len(pairs))

    def send(args):
        stack, sender, text = args
        start.wait()
        return say(stack, sender, text)

    with ThreadPoolExecutor(len(pairs)) as pool:
        return list(pool.map(send, pairs))


def test_simultaneous_turns_of_one_conversation_are_processed_one_after_another(replicas, slow_model):
    a, b = replicas.stacks
    sender = "fast-typist"
    q1, q2 = "hey do you guys ship to the UK?", "how many days until my refund shows up on my card?"
    replies = send_together([(a, sender, q1), (b, sender, q2)])
    # Both questions are answered, each with its own cited answer.
    assert all("[1]" in texts(r) for r in replies), replies

    # The shared history holds both turns, whole, one after the other: each turn's answer
    # and its return to listening come before the next customer message.
    history = turns(tracker(a, sender)["events"])
    assert sorted(t[0]["text"] for t in history) == sorted([q1, q2])
    for turn in history:
        kinds = [e["event"] for e in turn]
        assert "bot" in kinds, kinds
        assert turn[-1]["event"] == "action" and turn[-1]["name"] == "action_listen", kinds

    # The model was asked the second question only after the first was answered, and with
    # the first turn in its context: the replicas did not work on the conversation at once.
    ((t1, _),) = slow_model.requests.for_question(history[0][0]["text"])
    ((t2, body2),) = slow_model.requests.for_question(history[1][0]["text"])
    assert t2 - t1 >= MODEL_LATENCY, (t1, t2)
    assert f"customer: {history[0][0]['text']}" in body2["messages"][0]["content"]


def test_different_conversations_on_two_replicas_do_run_at_the_same_time(replicas, slow_model):
    """The control for the test above: the lock is per conversation, not a global queue."""
    a, b = replicas.stacks
    q1, q2 = "can I ship my order to the UK?", "when will my refund reach my bank account?"
    replies = send_together([(a, "customer-one", q1), (b, "customer-two", q2)])
    assert all("[1]" in texts(r) for r in replies), replies
    ((t1, _),) = slow_model.requests.for_question(q1)
    ((t2, _),) = slow_model.requests.for_question(q2)
    assert abs(t2 - t1) < MODEL_LATENCY, (t1, t2)


def test_platform_retry_to_the_other_replica_is_answered_once(replicas, telegram_api):
    """Telegram resends an update it thinks was lost; the load balancer picks the other
    replica. The shared Redis dedupe store makes the second delivery a no-op."""
    a, b = replicas.stacks
    chat = 880000 + int(time.time()) % 1000
    update = {
        "update_id": chat,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": {"id": 9, "is_bot": False, "first_name": "Ann"},
            "text": "hello",
        },
    }
    statuses = [telegram_update(stack, update).status for stack in (a, b, a, b)]
    assert statuses == [200, 200, 200, 200]
    telegram_api.wait_for("sendMessage", where=lambda r: int(r.params["chat_id"]) == chat)
    time.sleep(3)
    sent = telegram_api.calls("sendMessage", lambda r: int(r.params["chat_id"]) == chat)
    assert len(sent) == 1
    said = [e for e in tracker(a, f"telegram:{chat}")["events"] if e["event"] == "user"]
    assert len(said) == 1
