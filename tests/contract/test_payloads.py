"""The contract both interpreters import: its shapes, and that it needs nothing installed."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import contract

CONTRACT_DIR = Path(contract.__file__).parent


def test_contract_imports_only_the_standard_library_and_itself() -> None:
    for path in CONTRACT_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top in ("contract", "__future__"), (path, name)


def test_each_channel_reads_only_its_own_part_and_falls_back_to_text() -> None:
    message = {**contract.slack_part("*hi*", []), **contract.sms_part("hi"), "text": "hi there"}
    assert contract.channel_part(message, "slack") == {"text": "*hi*", "blocks": []}
    assert contract.channel_part(message, "telegram") is None
    assert contract.fallback_text(message) == "hi there"


def test_a_handoff_is_recognised_and_never_mistaken_for_customer_text() -> None:
    notice = contract.handoff("h1", "sms:abc", "sms", "asked", ["slack"])
    assert contract.is_handoff(notice)
    assert contract.fallback_text(notice) is None
    assert not contract.is_handoff({"handoff": "yes"})


def test_suggestions_and_agent_messages_show_as_text_on_a_channel_without_its_part() -> None:
    reply = contract.suggestions(
        "Did you mean one of these?",
        [{"title": "Reset the hub", "url": "https://help.example/reset"}],
        sms=contract.sms_part("Did you mean: Reset the hub?")["sms"],
    )
    assert reply[contract.SUGGESTIONS]["items"][0]["title"] == "Reset the hub"
    assert contract.fallback_text(reply) == "Did you mean one of these?"
    assert contract.channel_part(reply, "sms") == {"text": "Did you mean: Reset the hub?"}
    agent = contract.agent_message("Hi, Dana from support here.", agent="Dana")
    assert agent[contract.AGENT_MESSAGE] == {"text": "Hi, Dana from support here.", "agent": "Dana"}
    assert contract.fallback_text(agent) == "Hi, Dana from support here."
    with pytest.raises(ValueError):
        contract.agent_message("x", signal={"text": "x"})


def test_a_transcript_reads_what_the_customer_saw_on_each_channel() -> None:
    assert contract.readable_text(contract.telegram_part("<b>Reset</b> &amp; retry")) == "Reset & retry"
    assert contract.readable_text(contract.slack_part("Reset it", [])) == "Reset it"
    assert contract.readable_text({"answer": "plain"}) == "plain"


def test_feedback_ack_carries_ref_verdict_and_toast_text() -> None:
    assert contract.feedback_ack("r1", "helpful", "Thanks!") == {
        "feedback_ack": {"ref": "r1", "verdict": "helpful", "text": "Thanks!"}
    }
