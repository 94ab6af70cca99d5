"""A message is parsed off the event loop, so webhooks are answered while it is parsed."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor

from rasa_ext import patches
from tests.rasa_ext.loop_stall import longest_stall

PARSE_SECONDS = 0.4


def busy_parse(self, message, tracker, only_output_properties=True) -> dict:
    """Holds the interpreter like DIET's Python side does, for PARSE_SECONDS."""
    end = time.perf_counter() + PARSE_SECONDS
    while time.perf_counter() < end:
        sum(range(200))
    return {
        "text": message.text,
        "intent": {"name": "ask_question", "confidence": 0.9},
        "entities": [],
        "parsed_on": threading.current_thread().name,
    }


@pytest.fixture
def processor(monkeypatch):
    monkeypatch.setattr(MessageProcessor, "parse_message", MessageProcessor.parse_message)
    monkeypatch.setattr(MessageProcessor, "_parse_message_with_graph", busy_parse)
    proc = object.__new__(MessageProcessor)  # only what parse_message reads
    proc.http_interpreter = None
    proc.domain = None
    return proc


async def parse_while_watching_the_loop(processor) -> tuple[dict, float]:
    """The parse result and the longest time the loop could not run a 5 ms heartbeat."""
    return await longest_stall(processor.parse_message(UserMessage("do you ship to canada?", sender_id="c1")))


def test_the_loop_keeps_running_while_a_message_is_parsed(processor):
    with patches.installed("nlu_thread"):
        parsed, longest_stall = asyncio.run(parse_while_watching_the_loop(processor))
    assert parsed["text"] == "do you ship to canada?" and parsed["intent"]["name"] == "ask_question"
    assert parsed["parsed_on"].startswith("nlu-parse")
    assert longest_stall < PARSE_SECONDS / 4  # the loop got its turns during the parse


def test_switched_off_the_parse_runs_on_the_loop_as_in_rasa(processor, monkeypatch):
    monkeypatch.setenv("NIMBUS_RASA_PATCHES_OFF", "nlu_thread")
    patches.apply()
    try:
        assert "nlu_thread" not in patches.applied()
        parsed, longest_stall = asyncio.run(parse_while_watching_the_loop(processor))
    finally:
        patches.undo()
    assert parsed["parsed_on"] == threading.current_thread().name
    assert longest_stall >= PARSE_SECONDS * 0.9


def test_other_callers_of_the_graph_still_get_a_fresh_parse(processor, monkeypatch):
    """Only the message being parsed by this task is answered from the thread's result."""
    message = UserMessage("hello", sender_id="c2")
    with patches.installed("nlu_thread"):
        direct = processor._parse_message_with_graph(message, None)
    assert direct["text"] == "hello" and direct["parsed_on"] == threading.current_thread().name
