"""The same path with an OpenAI-compatible model configured (a local stand-in reached
through the real `openai` client), including the fallbacks when it fails."""

from __future__ import annotations

import re

from tests.e2e.conftest import say, texts
from tests.standins.openai_server import first_sentence

ARTICLE = "https://help.nimbushome.example/articles/"
_PASSAGE = re.compile(r'<passage number="(\d+)" title="([^"]*)"[^>]*>\n(.*?)\n</passage>', re.DOTALL)


def test_model_answer_is_built_from_retrieved_passages_and_cited(llm_stack, openai_standin):
    openai_standin.mode = "answer"
    before = len(openai_standin.requests)
    replies = say(llm_stack, "llm-1", "do you ship to canada and how much is it?")
    assert len(openai_standin.requests) == before + 1
    request = openai_standin.requests[-1]
    assert request["model"] == "stand-in-model"
    system, user = request["messages"][0]["content"], request["messages"][1]["content"]
    assert "do you ship to canada" in user and "<customer_question>" in user
    passages = _PASSAGE.findall(system)
    assert passages, system
    # The stand-in quoted one of the passages it received; that text reached the customer.
    text = texts(replies)
    quoted = [first_sentence(body) for _, _, body in passages]
    assert any(q in text for q in quoted), text
    assert text.startswith("From the help centre:")
    assert "[1]" in text and ARTICLE + "international-shipping" in text
    payload = next(r["custom"] for r in replies if r.get("custom"))
    assert payload["method"] == "llm"
    assert [c["number"] for c in payload["citations"]] == [1]


def test_model_server_error_falls_back_to_cited_extractive_answer(llm_stack, openai_standin):
    openai_standin.mode = "error500"
    replies = say(llm_stack, "llm-2", "when will I get my refund after returning it")
    payload = next(r["custom"] for r in replies if r.get("custom"))
    assert payload["method"] == "extractive"
    assert ARTICLE + "refund-timing" in texts(replies)


def test_model_timeout_falls_back_to_cited_extractive_answer(llm_stack, openai_standin):
    openai_standin.mode = "slow"
    openai_standin.slow_seconds = 6
    replies = say(llm_stack, "llm-3", "the thermostat screen is blank")
    payload = next(r["custom"] for r in replies if r.get("custom"))
    assert payload["method"] == "extractive"
    assert ARTICLE + "display-blank-or-no-power" in texts(replies)


def test_uncited_model_answer_is_not_shown(llm_stack, openai_standin):
    openai_standin.mode = "uncited"
    replies = say(llm_stack, "llm-4", "do you ship to canada?")
    text = texts(replies)
    assert not text.startswith("From the help centre:"), text
    payload = next(r["custom"] for r in replies if r.get("custom"))
    assert payload["method"] == "extractive" and payload["citations"]
