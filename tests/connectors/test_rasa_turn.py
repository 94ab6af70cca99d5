"""A conversation-store outage becomes an apology to the customer and one log line."""

from __future__ import annotations

import asyncio
import logging
import types

import pytest
import redis
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import LockError
from sanic import Sanic

from connectors.common import rasa_turn

DOMAIN_APOLOGY = "Sorry, I'm having trouble answering right now."


@pytest.fixture
def running_bot(monkeypatch):
    """The Rasa app our connectors run in, with a loaded domain."""
    agent = types.SimpleNamespace(
        domain=types.SimpleNamespace(responses={"utter_action_failed": [{"text": DOMAIN_APOLOGY}]})
    )
    app = types.SimpleNamespace(ctx=types.SimpleNamespace(agent=agent))
    monkeypatch.setattr(Sanic, "get_app", classmethod(lambda cls, name=None: app))


def turn(error: BaseException | None) -> tuple[bool, list]:
    out = CollectingOutputChannel()

    async def on_new_message(message: UserMessage) -> None:
        if error is not None:
            raise error
        await out.send_text_message(message.sender_id, "Hi!")

    handled = asyncio.run(
        rasa_turn.hand_to_rasa(on_new_message, UserMessage("hello", out, "slack:T1:C1:1.2"))
    )
    return handled, [m["text"] for m in out.messages]


@pytest.mark.parametrize(
    "error",
    [
        LockError(
            "Error while acquiring lock. Error:\nError 111 connecting to localhost:6379. Connection refused."
        ),
        redis.exceptions.ConnectionError("Connection refused"),
    ],
    ids=["lock", "redis"],
)
def test_a_store_outage_gets_the_domain_s_apology_and_one_log_line(running_bot, caplog, error):
    with caplog.at_level(logging.ERROR, logger=rasa_turn.__name__):
        assert turn(error) == (False, [DOMAIN_APOLOGY])
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("conversation store unavailable for conversation slack:T1:C1:1.2: ")
    assert "Connection refused" in line and "hello" not in line  # the cause, never the text


def test_a_normal_turn_is_untouched(running_bot):
    assert turn(None) == (True, ["Hi!"])


def test_other_failures_propagate_as_before(running_bot):
    with pytest.raises(ValueError):
        turn(ValueError("a bug"))


def test_before_the_model_is_loaded_the_apology_is_the_built_in_one(monkeypatch):
    monkeypatch.setattr(Sanic, "get_app", classmethod(lambda cls, name=None: types.SimpleNamespace(ctx=None)))
    assert turn(LockError("down")) == (False, [rasa_turn.DEFAULT_APOLOGY])
