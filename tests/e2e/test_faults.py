"""What the customer sees, and what the operator reads in the logs, when a part fails.

One Rasa replica on a real Redis (as in production, `endpoints.redis.yml`), the real action
server, a private copy of the knowledge base (so it can be taken away), and the OpenAI
stand-in switched between failure modes. Tests run in file order: the last ones take
parts down for good.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from scripts.redis_server import RedisServer
from scripts.stack import ROOT
from tests.e2e.conftest import say, texts
from tests.e2e.redis_stack import log_text, require_redis, start_replicas, wait_for_log
from tests.e2e.test_scale_out import TimedRequests
from tests.standins.openai_server import OpenAIStandIn

RESPONSES = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())["responses"]
APOLOGY = RESPONSES["utter_action_failed"][0]["text"]
KB_UNAVAILABLE = RESPONSES["utter_kb_unavailable"][0]["text"]
GREETING = RESPONSES["utter_greet"][0]["text"]
ARTICLE = "https://help.nimbushome.example/articles/"

MODEL_ATTEMPT_TIMEOUT = 1.5
MODEL_TOTAL_BUDGET = 4.0
ACTION_TIMEOUT = 8.0


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory, kb_uri) -> Path:
    target = tmp_path_factory.mktemp("faults-kb") / "lancedb"
    shutil.copytree(kb_uri, target)
    return target


@pytest.fixture(scope="module")
def model_api():
    require_redis()
    server = OpenAIStandIn().start()
    server.requests = TimedRequests()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bot(tmp_path_factory, model, rest_credentials, kb_dir, model_api):
    env = {
        "OPENAI_API_KEY": "sk-test-standin",
        "OPENAI_BASE_URL": model_api.base_url,
        "OPENAI_MODEL": "stand-in-model",
        "OPENAI_TIMEOUT": str(MODEL_ATTEMPT_TIMEOUT),
        "OPENAI_MAX_RETRIES": "2",
        "OPENAI_TOTAL_TIMEOUT": str(MODEL_TOTAL_BUDGET),
        "ACTION_TIMEOUT": str(ACTION_TIMEOUT),
    }
    tmp = tmp_path_factory.mktemp("faults")
    group = start_replicas(tmp, model, rest_credentials, str(kb_dir), env, count=1)
    yield group
    group.stop()


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_ready(url: str, timeout: float = 120) -> dict:
    """The action server loads its embedding model in the background after start-up."""
    deadline = time.monotonic() + timeout
    status, body = get_json(url)
    while status != 200 and time.monotonic() < deadline:
        time.sleep(1)
        status, body = get_json(url)
    assert status == 200, body
    return body


def timed_say(stack, sender: str, text: str) -> tuple[list[dict], float]:
    started = time.monotonic()
    replies = say(stack, sender, text)
    return replies, time.monotonic() - started


def test_health_says_every_part_is_usable(bot):
    (stack,) = bot.stacks
    actions = wait_ready(f"{stack.action_url}/health/ready")
    assert actions["knowledge_base"]["chunks"] > 0 and actions["knowledge_base"]["model_api"] is True
    status, body = get_json(f"{stack.rasa_url}/health/ready")
    assert status == 200 and body["status"] == "ok", body
    assert body["tracker_store"]["type"] == "RedisTrackerStore"
    assert body["lock_store"]["type"] == "AtomicRedisLockStore"
    assert body["action_server"]["knowledge_base"]["chunks"] == actions["knowledge_base"]["chunks"]


@pytest.mark.parametrize(
    "mode,error",
    [
        ("error500", "InternalServerError (HTTP 500)"),
        ("error429", "RateLimitError (HTTP 429)"),
        ("slow", "APITimeoutError"),
    ],
)
def test_model_api_failure_gives_a_cited_extractive_answer_in_bounded_time(bot, model_api, mode, error):
    (stack,) = bot.stacks
    wait_ready(f"{stack.action_url}/health/ready")
    model_api.mode, model_api.slow_seconds = mode, 30
    sender = f"model-{mode}"
    question = "how many days until my refund shows up on my card"
    before = len(model_api.requests)
    replies, elapsed = timed_say(stack, sender, question)
    model_api.mode = "answer"

    # The customer: a cited answer quoted from the article, not an error, not silence.
    payload = next(r["custom"] for r in replies if r.get("custom"))
    assert payload["method"] == "extractive"
    assert "[1]" in texts(replies) and ARTICLE + "refund-timing" in texts(replies)
    # Bounded: the model's whole budget plus retrieval, never the SDK's minutes.
    assert elapsed < MODEL_TOTAL_BUDGET + 4, elapsed

    arrived = model_api.requests.arrived[before:]
    if mode == "slow":
        assert 2 <= len(arrived) <= 3  # attempts cut short by the total budget
    else:
        assert len(arrived) == 3  # the first try and two retries
        gaps = [b - a for a, b in zip(arrived, arrived[1:], strict=False)]
        assert 0.25 <= gaps[0] <= 0.5 + 0.4 and 0.5 <= gaps[1] <= 1.0 + 0.4, gaps  # jittered backoff

    # The operator: each retry and the fallback, with the conversation id and the cause.
    log = wait_for_log(
        stack, "actions", f"falling back to the extractive answer for conversation web:{sender}"
    )
    assert f"model call attempt 1 for conversation web:{sender} failed ({error}); retrying in" in log
    assert f"model call failed for conversation web:{sender} after" in log and error in log
    assert f"falling back to the extractive answer for conversation web:{sender}" in log


def test_platform_api_429_and_5xx_replies_are_retried_then_logged(channel_stack, telegram_api):
    """The Telegram Bot API (stand-in) rate-limits one reply, then is down for another
    conversation's. Runs on the shared channel stack, not the Redis replica above."""
    from tests.e2e.channels import TELEGRAM_SECRET, TELEGRAM_TOKEN, telegram_update
    from tests.e2e.test_telegram_channel import _chats, message, sent_to
    from tests.standins.http_standin import Failure
    from tests.standins.telegram_api import TelegramStandIn

    retry_after = 2
    limited, down = next(_chats), next(_chats)

    # 429 with retry_after: the reply goes out once the platform's wait is over.
    telegram_api.fail("sendMessage", TelegramStandIn.too_many_requests(retry_after))
    assert telegram_update(channel_stack, message("hello", limited)).status == 200
    refused, delivered = telegram_api.wait_for(
        "sendMessage", 2, timeout=30, where=lambda r: int(r.params["chat_id"]) == limited
    )
    assert delivered.at - refused.at >= retry_after - 0.05, delivered.at - refused.at
    assert "Nimbus Home support assistant" in html.unescape(delivered.params["text"])

    # 5xx for as long as the bot keeps trying: a bounded number of attempts, then a log line.
    bad_gateway = Failure(502, {}, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
    telegram_api.fail("sendMessage", *[bad_gateway] * 10)
    try:
        assert telegram_update(channel_stack, message("hello", down)).status == 200
        log = wait_for_log(
            channel_stack,
            "rasa",
            f"telegram sendMessage failed after 4 attempts (conversation telegram:{down})",
        )
        time.sleep(1)  # a fifth attempt would come within the backoff's longest wait
        assert len(sent_to(telegram_api, down)) == 4
    finally:
        telegram_api.failures.pop("sendMessage", None)  # what the bot did not use up
    assert f"telegram sendMessage failed after 4 attempts (conversation telegram:{down}): " in log
    assert f"retry 1/3 in {retry_after:.1f} s (conversation telegram:{limited})" in log
    retries = (
        r"telegram sendMessage: Telegram network error: [^\n]*; "
        rf"retry (\d)/3 in [\d.]+ s \(conversation telegram:{down}\)"
    )
    assert [int(n) for n in re.findall(retries, log)] == [1, 2, 3], log[-2000:]
    assert TELEGRAM_TOKEN not in log and TELEGRAM_SECRET not in log

    # The lost reply does not wedge the conversation: the next message is answered.
    assert telegram_update(channel_stack, message("hello", down)).status == 200
    answered = telegram_api.wait_for(
        "sendMessage", 5, timeout=30, where=lambda r: int(r.params["chat_id"]) == down
    )
    assert "Nimbus Home support assistant" in html.unescape(answered[-1].params["text"])


def test_missing_or_empty_knowledge_base_gets_a_clear_reply_and_log_line(bot, kb_dir):
    (stack,) = bot.stacks
    wait_ready(f"{stack.action_url}/health/ready")
    question = "do you ship to canada?"
    aside = kb_dir.with_name("lancedb-aside")
    kb_dir.rename(aside)
    try:
        # Missing directory.
        assert texts(say(stack, "kb-missing", question)) == KB_UNAVAILABLE
        log = wait_for_log(stack, "actions", "knowledge base unavailable for conversation web:kb-missing")
        expected = (
            f"unavailable for conversation web:kb-missing: no knowledge base table 'chunks' at {kb_dir}"
        )
        assert expected in log
        status, body = get_json(f"{stack.action_url}/health/ready")
        assert status == 503 and "kb ingest" in body["knowledge_base"]["error"], body
        status, body = get_json(f"{stack.rasa_url}/health/ready")
        assert status == 200 and body["status"] == "degraded" and not body["action_server"]["ok"], body
        # Empty directory (e.g. a volume mounted before the first ingestion).
        kb_dir.mkdir()
        assert texts(say(stack, "kb-empty", question)) == KB_UNAVAILABLE
        assert "knowledge base unavailable for conversation web:kb-empty" in wait_for_log(
            stack, "actions", "knowledge base unavailable for conversation web:kb-empty"
        )
    finally:
        shutil.rmtree(kb_dir, ignore_errors=True)
        aside.rename(kb_dir)
    # Back in place: answered again, no restart needed.
    assert ARTICLE + "international-shipping" in texts(say(stack, "kb-back", question))
    assert get_json(f"{stack.action_url}/health/ready")[0] == 200


def test_slow_action_server_gets_an_apology_not_silence(bot):
    (stack,) = bot.stacks
    actions = stack.processes["actions"]
    os.killpg(actions.pid, signal.SIGSTOP)  # hung: accepts connections, never answers
    try:
        replies, elapsed = timed_say(stack, "stuck-actions", "how do I reset my thermostat?")
    finally:
        os.killpg(actions.pid, signal.SIGCONT)
    assert texts(replies) == APOLOGY
    assert ACTION_TIMEOUT - 0.5 <= elapsed < ACTION_TIMEOUT + 5, elapsed
    log = wait_for_log(stack, "rasa", "failed for conversation web:stuck-actions")
    assert (
        f"custom action action_search_knowledge failed for conversation web:stuck-actions: "
        f"no answer within {ACTION_TIMEOUT:.0f} s; replied with an apology"
    ) in log
    # Once it answers again, so does the bot.
    assert "[1]" in texts(say(stack, "stuck-actions", "do you ship to canada?"))


def test_redis_outage_gets_an_apology_and_the_bot_recovers_when_redis_returns(bot):
    (stack,) = bot.stacks
    assert texts(say(stack, "redis-customer", "hello")) == GREETING
    port = bot.redis.port
    bot.redis.stop()
    try:
        replies = say(stack, "redis-customer", "hello")
        assert texts(replies) == APOLOGY
        log = wait_for_log(stack, "rasa", "conversation store unavailable")
        assert (
            "conversation store unavailable (AtomicRedisLockStore) for conversation web:redis-customer" in log
        )
        status, body = get_json(f"{stack.rasa_url}/health/ready")
        assert status == 503 and body["status"] == "unavailable", body
        assert not body["tracker_store"]["ok"] and not body["lock_store"]["ok"]
        assert "Connection" in body["lock_store"]["error"]
    finally:
        bot.redis = RedisServer(port=port).start()  # the same address, empty: nothing persisted
    # Back: the next message is answered normally, no restart of Rasa.
    assert texts(say(stack, "redis-customer", "hello")) == GREETING
    assert get_json(f"{stack.rasa_url}/health/ready")[0] == 200


def test_action_server_down_gets_an_apology_not_silence(bot):
    (stack,) = bot.stacks
    stack.stop("actions")
    replies, elapsed = timed_say(stack, "no-actions", "how do I reset my thermostat?")
    assert texts(replies) == APOLOGY
    assert elapsed < 5, elapsed  # refused at once: no need to wait for the timeout
    log = wait_for_log(stack, "rasa", "failed for conversation web:no-actions")
    assert "custom action action_search_knowledge failed for conversation web:no-actions: " in log
    assert "Couldn't connect to the server" in log
    status, body = get_json(f"{stack.rasa_url}/health/ready")
    assert status == 200 and body["status"] == "degraded" and not body["action_server"]["ok"], body
    # Replies that need no action server still work.
    assert texts(say(stack, "no-actions", "hello")) == GREETING
    assert log_text(stack, "rasa")
