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
def replicas(tmp_path_factory, model, rest_credentials, kb_uri, slow_model):
    env = {
        "OPENAI_API_KEY": "sk-test-standin",
        "OPENAI_BASE_URL": slow_model.base_url,
        "OPENAI_MODEL": "stand-in-model",
        "OPENAI_TIMEOUT": "10",
        "OPENAI_MAX_RETRIES": "0",
    }
    group = start_replicas(tmp_path_factory.mktemp("scale"), model, rest_credentials, kb_uri, env)
    yield group
    group.stop()


def user_texts(events: list[dict]) -> list[str]:
    return [e["text"] for e in events if e["event"] == "user"]


def test_turns_alternating_between_replicas_keep_the_conversation(replicas, slow_model):
    a, b = replicas.stacks
    sender = "alternating-customer"
    first = say(a, sender, "how do I return my thermostat?")
    assert "[1]" in texts(first)
    # The next turn lands on the other replica: it must know what was said on the first.
    second = say(b, sender, "how long does the refund take after that?")
    assert "[1]" in texts(second)
    asked = slow_model.requests.for_question("how long does the refund take")
    prompt = asked[-1][1]["messages"][0]["content"]
    assert "customer: how do I return my thermostat?" in prompt, prompt
    third = say(a, sender, "thanks!")
    assert texts(third)

    expected = ["how do I return my thermostat?", "how long does the refund take after that?", "thanks!"]
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
    q1, q2 = "do you ship to canada?", "how many days until my refund shows up on my card?"
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


# TODO(lead, issue 6): "a platform retry delivered to the other replica is not answered
# twice" needs the connectors' Redis dedupe store, which is not on main yet. Once it is:
# start the replicas with the Slack (or Telegram) connector configured to use
# REDIS_HOST/REDIS_PORT for dedupe, post the same signed event (same event_id, with
# `X-Slack-Retry-Num: 1` on the second) to replica a and then to replica b, and assert the
# Slack stand-in received exactly one chat.postMessage and the tracker one user message.
