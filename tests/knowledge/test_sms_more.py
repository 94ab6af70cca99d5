"""SMS's "Reply MORE" (issue 18): the SMS answer says whether the REST-budget answer has more,
and `kb eval` counts the facts a customer can have with one more text."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from knowledge.answer.more import leaves_out, pieces
from knowledge.answer_check import SMS_MORE, check_answers, facts_present, format_results
from knowledge.config import SAMPLE_ARTICLES, RetrievalSettings, Settings
from knowledge.ingest import ingest_folder
from knowledge.service import KnowledgeBase
from knowledge.store import ChunkStore


@pytest.fixture(scope="module")
def kb(tmp_path_factory, embedder) -> KnowledgeBase:
    uri = str(tmp_path_factory.mktemp("kb") / "kb")
    ingest_folder(SAMPLE_ARTICLES, ChunkStore(uri), embedder.embed)
    return KnowledgeBase(Settings(retrieval=RetrievalSettings(uri=uri)), embedder=embedder)


FULL = """**Warranty periods**

Every product is covered from the day it is delivered. [1]

| Product | Warranty |
|---|---|
| Nimbus Thermostat 2 | **2 years** from delivery |
| Nimbus Room Sensor | **1 year** from delivery [1] |

Keep your proof of purchase. [1]"""


def test_pieces_are_what_the_customer_reads_without_headings_markup_or_markers():
    assert pieces(FULL) == [
        "every product is covered from the day it is delivered.",
        "nimbus thermostat 2: 2 years from delivery",
        "nimbus room sensor: 1 year from delivery",
        "keep your proof of purchase.",
    ]


def test_a_short_answer_leaves_out_what_it_does_not_quote_whole():
    short = (
        "Every product is covered from the day it is delivered. [1]\n\n"
        "- Nimbus Thermostat 2: **2 years** from delivery [1]"
    )
    assert leaves_out(short, FULL)
    # everything quoted (rows as the SMS answer shows them, heading left out): nothing more
    whole = (
        "Every product is covered from the day it is delivered. [1]\n\n"
        "- Nimbus Thermostat 2: **2 years** from delivery\n"
        "- Nimbus Room Sensor: **1 year** from delivery [1]\n\n"
        "Keep your proof of purchase. [1]"
    )
    assert not leaves_out(whole, FULL)
    assert not leaves_out(FULL, FULL)
    # a sentence shortened with "..." is left out in part
    assert leaves_out(whole.replace("Keep your proof of purchase.", "Keep your proof..."), FULL)
    assert not leaves_out("anything", "")


def test_the_sms_answer_offers_more_only_when_the_rest_budget_answer_says_more(kb):
    question = "how do I unlock my account"
    sms, rest = kb.ask(question, channel="sms"), kb.ask(question, channel="rest")
    assert (
        sms.more and not facts_present(sms.text, ["15 minutes"]) and facts_present(rest.text, ["15 minutes"])
    )
    assert not rest.more  # REST is the full answer
    # MORE's answer: the REST-budget quote, whole sections
    assert kb.ask(question, channel="rest", quoted=True).text == rest.text
    # an answer the SMS budget holds whole offers nothing
    whole = kb.ask("what do I get with pro that plus doesn't have", channel="sms")
    assert whole.method == "extractive" and not whole.more
    # no offer on "I don't know" or on suggestions
    for unanswered in ("who painted the mona lisa", "is there a nimbus app for my smart tv"):
        answer = kb.ask(unanswered, channel="sms")
        assert answer.method in ("abstain", "suggest") and not answer.more


class _Model:
    """A model that answers every question with one cited sentence."""

    def complete(self, messages, conversation_id=None):
        if "one standalone question in English" in messages[0]["content"]:
            return "How do I unlock my account?"
        return "Reset your password to unlock your account right away. [1]"


def test_with_a_model_the_short_answer_is_compared_with_the_quoted_sections(kb, monkeypatch):
    monkeypatch.setattr(kb, "model", _Model())
    sms = kb.ask("how do I unlock my account", channel="sms")
    assert sms.method == "llm" and sms.more
    # MORE quotes the sections, never the model's words
    full = kb.ask("how do I unlock my account", channel="rest", quoted=True)
    assert full.method == "extractive" and facts_present(full.text, ["15 minutes"])
    # a non-English answer makes no offer (the quoted sections are English)
    assert not kb.ask("¿cómo desbloqueo mi cuenta?", channel="sms", language="es").more


def test_kb_eval_counts_a_fact_the_rest_budget_answer_brings_only_when_more_is_offered(kb):
    questions = [
        SimpleNamespace(q="how do I unlock my account", article="unlock-your-account", facts=["15 minutes"]),
        SimpleNamespace(
            q="how much is shipping to canada", article="international-shipping", facts=["$19.95"]
        ),
    ]
    results = check_answers(kb, questions)
    assert results["sms"].with_facts == 1 and results["rest"].with_facts == 2
    more = results[SMS_MORE]
    assert (more.answered, more.right_article, more.with_facts) == (2, 2, 2) and more.offers >= 1
    assert "sms + MORE" in format_results(results, "test")
    assert SMS_MORE not in check_answers(kb, questions, channels=("sms",))


def test_a_fact_only_the_rest_budget_answer_has_does_not_count_without_the_offer(kb, monkeypatch):
    from knowledge import service

    monkeypatch.setattr(service, "leaves_out", lambda short, full: False)
    question = SimpleNamespace(
        q="how do I unlock my account", article="unlock-your-account", facts=["15 minutes"]
    )
    results = check_answers(kb, [question])
    assert (
        results["rest"].with_facts == 1
        and results[SMS_MORE].with_facts == 0
        and results[SMS_MORE].offers == 0
    )
