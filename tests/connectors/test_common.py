"""Shared connector machinery: splitting, retries, dedupe, background turns, credentials, masking."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import time

import pytest

from connectors.common import logmask
from connectors.common.credentials import ChannelConfigError, read_settings
from connectors.common.dedupe import MemoryDedupe, RedisDedupe, SqliteDedupe, dedupe_from_settings
from connectors.common.delivery import TransientError, send_with_retry, split_text
from connectors.common.payload import channel_part, fallback_text
from connectors.common.runner import TurnRunner
from connectors.common.webhook import Rejected, parse_json_object

PARAGRAPHS = (
    "Resetting your thermostat clears its schedule. Hold the dial for ten seconds.\n\n"
    "When the screen turns blue, release it. The device restarts and shows the setup code.\n\n"
    "Open the app and enter the code to pair it again."
)


def test_split_keeps_short_text_whole():
    assert split_text("Hello there.", 100) == ["Hello there."]


def test_split_prefers_paragraph_boundaries():
    parts = split_text(PARAGRAPHS, 100)
    assert parts == [p.strip() for p in PARAGRAPHS.split("\n\n")]


def test_split_falls_back_to_sentences_then_words():
    sentence = "This sentence is exactly long enough to matter. "
    text = sentence * 6
    parts = split_text(text, 100)
    assert all(len(p) <= 100 for p in parts)
    assert all(p.endswith(".") for p in parts)  # never cut inside a sentence when one fits
    assert " ".join(parts) == text.strip()
    words = split_text("word " * 50, 23)
    assert all(len(p) <= 23 for p in words) and all(not p.startswith(" ") for p in words)
    assert " ".join(words).split() == ["word"] * 50


def test_split_hard_cuts_a_single_huge_token():
    parts = split_text("x" * 250, 100)
    assert [len(p) for p in parts] == [100, 100, 50]


def test_split_with_custom_length_function():
    # SMS counts in segments, Telegram in UTF-16 units: the length function is pluggable.
    parts = split_text("ab " * 40, 20, length=lambda s: len(s.encode("utf-16-le")) // 2)
    assert all(len(p) <= 20 for p in parts)


def _run(coro):
    return asyncio.run(coro)


def test_retry_honours_retry_after_then_succeeds():
    slept: list[float] = []
    calls = {"n": 0}

    async def op():
        calls["n"] += 1
        if calls["n"] < 3:
            raise TransientError("HTTP 429", retry_after=7)
        return "sent"

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    assert _run(send_with_retry(op, what="t", conversation="c1", sleep=fake_sleep)) == "sent"
    assert slept == [7, 7]


def test_retry_gives_up_and_logs_conversation(caplog):
    async def op():
        raise TransientError("HTTP 503")

    async def no_sleep(_: float) -> None:
        pass

    with caplog.at_level(logging.ERROR):
        result = _run(send_with_retry(op, what="send", conversation="conv-42", attempts=3, sleep=no_sleep))
    assert result is None
    assert "conv-42" in caplog.text and "3 attempts" in caplog.text


def test_permanent_error_is_not_retried(caplog):
    calls = {"n": 0}

    async def op():
        calls["n"] += 1
        raise RuntimeError("channel_not_found")

    with caplog.at_level(logging.ERROR):
        assert _run(send_with_retry(op, what="send", conversation="c9")) is None
    assert calls["n"] == 1 and "c9" in caplog.text


def test_memory_dedupe_expires_after_ttl():
    now = [1000.0]
    store = MemoryDedupe(ttl=60, clock=lambda: now[0])

    async def scenario():
        assert await store.first_seen("e1")
        assert not await store.first_seen("e1")
        assert await store.first_seen("e2")
        now[0] += 61
        assert await store.first_seen("e1")

    _run(scenario())


def test_memory_dedupe_is_bounded():
    store = MemoryDedupe(ttl=60, max_entries=10)

    async def scenario():
        for i in range(100):
            await store.first_seen(f"k{i}")

    _run(scenario())
    assert len(store._expiry) <= 10


@pytest.fixture(scope="module")
def redis_url():
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


def test_redis_dedupe_is_shared_between_replicas(redis_url):
    async def scenario():
        replica_a = RedisDedupe(redis_url, ttl=60, prefix="t:")
        replica_b = RedisDedupe(redis_url, ttl=60, prefix="t:")
        first = await asyncio.gather(*(r.first_seen("Ev123") for r in (replica_a, replica_b, replica_a)))
        return first

    assert sorted(_run(scenario())) == [False, False, True]


def test_dedupe_chooses_redis_when_configured(redis_url, monkeypatch, tmp_path):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "tracker.db"))
    default = dedupe_from_settings({}, "slack")
    assert isinstance(default, SqliteDedupe) and default.path == str(tmp_path / "dedupe.sqlite")
    assert isinstance(dedupe_from_settings({"dedupe_db": "memory"}, "slack"), MemoryDedupe)
    assert isinstance(dedupe_from_settings({"dedupe_redis_url": redis_url}, "slack"), RedisDedupe)
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert isinstance(dedupe_from_settings({}, "slack"), RedisDedupe)


def test_sqlite_dedupe_survives_a_restart_and_expires(tmp_path):
    """Finding 4: a platform retry delivered after a restart must not be answered again."""
    now = [1000.0]
    path = str(tmp_path / "dedupe.sqlite")

    async def seen(store, key):
        return await store.first_seen(key)

    before = SqliteDedupe(path, ttl=60, prefix="slack:", clock=lambda: now[0])
    assert _run(seen(before, "event:Ev1")) is True
    assert _run(seen(before, "event:Ev1")) is False
    SqliteDedupe.close_all()  # the process ends; only the file remains
    after = SqliteDedupe(path, ttl=60, prefix="slack:", clock=lambda: now[0])
    assert _run(seen(after, "event:Ev1")) is False
    assert _run(seen(SqliteDedupe(path, ttl=60, prefix="telegram:"), "event:Ev1")) is True
    now[0] += 61  # past the TTL the id may be reused
    assert _run(seen(after, "event:Ev1")) is True
    SqliteDedupe.close_all()


def test_redis_down_falls_back_to_memory(caplog):
    async def scenario():
        store = RedisDedupe("redis://127.0.0.1:1/0", ttl=60)
        return await store.first_seen("x"), await store.first_seen("x")

    with caplog.at_level(logging.WARNING):
        assert _run(scenario()) == (True, False)
    assert "Redis unavailable" in caplog.text


def test_runner_logs_failures_with_conversation_and_drains(caplog):
    finished: list[str] = []

    async def ok_turn():
        await asyncio.sleep(0.05)
        finished.append("ok")

    async def bad_turn():
        raise ValueError("boom")

    async def scenario():
        runner = TurnRunner("slack")
        runner.start(ok_turn(), "conv-ok")
        runner.start(bad_turn(), "conv-bad")
        assert len(runner) == 2
        await runner.drain(timeout=5)
        return len(runner)

    with caplog.at_level(logging.ERROR):
        remaining = _run(scenario())
    assert finished == ["ok"] and remaining == 0
    assert "conv-bad" in caplog.text and "boom" in caplog.text


def test_runner_drain_cancels_turns_that_overrun():
    async def forever():
        await asyncio.sleep(3600)

    async def scenario():
        runner = TurnRunner("sms")
        task = runner.start(forever(), "c")
        await runner.drain(timeout=0.1)
        return task.cancelled()

    assert _run(scenario())


def test_missing_credential_names_the_variable():
    with pytest.raises(ChannelConfigError) as info:
        read_settings(
            "slack",
            {"bot_token": "  ", "signing_secret": "s"},
            {"bot_token": "SLACK_BOT_TOKEN", "signing_secret": "SLACK_SIGNING_SECRET"},
            {},
        )
    message = str(info.value)
    assert "SLACK_BOT_TOKEN" in message and "\n" not in message
    with pytest.raises(ChannelConfigError, match="SLACK_SIGNING_SECRET"):
        read_settings("slack", None, {"signing_secret": "SLACK_SIGNING_SECRET"}, {})


def test_unknown_keys_are_warned_and_defaults_applied(caplog):
    with caplog.at_level(logging.WARNING):
        settings = read_settings(
            "telegram",
            {"token": "t", "webhok_url": "x", "base_url": ""},
            {"token": "TELEGRAM_TOKEN"},
            {"base_url": "https://api.telegram.org"},
        )
    assert "webhok_url" in caplog.text
    assert settings["base_url"] == "https://api.telegram.org"


def test_phone_numbers_and_secrets_are_masked_in_every_log_line():
    masking = logmask.install(["xoxb-super-secret-token"], phones=True)
    assert all(masking in h.filters for h in logging.getLogger().handlers)
    # A line Rasa itself would write, keyed by the SMS sender's number.
    record = logging.LogRecord(
        "rasa.core.processor",
        logging.INFO,
        __file__,
        1,
        "Received message for +14155550123 with token %s",
        ("xoxb-super-secret-token",),
        None,
    )
    masking.filter(record)
    text = record.getMessage()
    assert "+14155550123" not in text and "xoxb-super-secret-token" not in text
    assert "+*********23" in text  # last two digits remain, to tell users apart
    assert logmask.mask_phone("+18005551212") == "+*********12"
    assert logmask.mask_phones_in("order 12345 on 2024-01-02") == "order 12345 on 2024-01-02"


def test_custom_payload_channel_part_and_fallback():
    payload = {"slack": {"text": "hi"}, "telegram": {"html": "<b>hi</b>"}, "handoff": {"reason": "x"}}
    assert channel_part(payload, "slack") == {"text": "hi"}
    assert channel_part(payload, "sms") is None
    assert fallback_text(payload) is None
    assert fallback_text({"answer": "The answer."}) == "The answer."
    assert fallback_text({"handoff": {}}) is None


@pytest.mark.parametrize("body", [b"{", b"[]", b"\xff\xfe", b'{"text": "\\ud800"}', b"null"])
def test_malformed_json_bodies_are_rejected_with_400(body):
    with pytest.raises(Rejected) as info:
        parse_json_object(body)
    assert info.value.status == 400


def test_odd_but_valid_unicode_is_accepted():
    data = parse_json_object(
        '{"text": "caf\\u00e9 \\u200f\\u05e9\\u05dc\\u05d5\\u05dd 🙂 \\ud83d\\ude00"}'.encode()
    )
    assert "🙂" in data["text"] and "😀" in data["text"]
