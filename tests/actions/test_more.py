"""SMS's "Reply MORE" (issue 18): the knowledge action offers the rest and keeps a reference
to the question, `action_more_answer` sends the REST-budget answer in one longer SMS."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import yaml

os.environ["ACTIONS_WARM_UP"] = "0"

from rasa_sdk import Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402

from actions import knowledge_action, more  # noqa: E402
from actions.render.sms import (  # noqa: E402
    FEEDBACK_PROMPT,
    MAX_CHARS,
    MORE_PROMPT,
    SmsRenderer,
    more_segments,
    segments,
)
from knowledge.config import SAMPLE_ARTICLES, RetrievalSettings, Settings  # noqa: E402
from knowledge.documents import Answer  # noqa: E402
from knowledge.loaders import load_article  # noqa: E402
from knowledge.service import KnowledgeBase  # noqa: E402

BOT = Path(__file__).resolve().parents[2] / "bot"
QUESTION = "how do I unlock my account"  # its SMS answer lacks "15 minutes"; the REST one has it


@pytest.fixture(scope="module")
def kb(sample_kb_uri):
    from knowledge.embedding import default_embedder

    return KnowledgeBase(
        Settings(retrieval=RetrievalSettings(uri=sample_kb_uri)), embedder=default_embedder()
    )


@pytest.fixture(autouse=True)
def use_kb(kb, monkeypatch):
    monkeypatch.setattr(knowledge_action, "knowledge_base", lambda: kb)


def user(text: str, sid: str, intent: str = "ask_knowledge") -> dict:
    parse = {"text": text, "intent": {"name": intent}, "metadata": {}, "message_id": sid}
    return {"event": "user", "text": text, "input_channel": "sms", "parse_data": parse, "message_id": sid}


def tracker(events: list[dict], **slots) -> Tracker:
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker("sms:abc", slots, latest["parse_data"], events, False, None, {}, "action_listen")


def run(action, tracker_: Tracker) -> tuple[list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker_, {}))
    return dispatcher.messages, events


def slot(events: list[dict], name: str):
    values = [e["value"] for e in events if e.get("event") == "slot" and e["name"] == name]
    return values[-1] if values else "unset"


def sms_text(message: dict) -> str:
    """The SMS text of a dispatched message (`custom`) or of a rendered one."""
    return message.get("custom", message)["sms"]["text"]


def test_an_sms_answer_that_leaves_part_out_offers_more_and_more_sends_it():
    asked = [user(QUESTION, "SM1")]
    messages, events = run(knowledge_action.ActionSearchKnowledge(), tracker(asked))
    text = sms_text(messages[0])
    assert text.endswith(MORE_PROMPT) and segments(text) <= 3 and "15 minutes" not in text
    assert slot(events, "more_answer") == "SM1"  # the message id, never the question
    ref = slot(events, "last_answer_ref")
    bot = {"event": "bot", "text": text}
    conversation = [*asked, bot, user("/more", "SM2", intent="more")]
    messages, events = run(
        more.ActionMoreAnswer(), tracker(conversation, more_answer="SM1", last_answer_ref=ref)
    )
    reply = sms_text(messages[0])
    assert "15 minutes" in reply and reply.endswith(FEEDBACK_PROMPT) and "MORE" not in reply
    assert segments(reply) <= more_segments() == 8 and len(reply) <= MAX_CHARS
    assert slot(events, "more_answer") is None
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "action_listen"}
    # "1" after the rest judges the answer, as after the answer itself
    from actions.feedback import ActionRecordFeedback, feedback_store

    after = [
        *conversation,
        {"event": "action", "name": "action_more_answer"},
        {"event": "bot", "text": reply},
        {"event": "action", "name": "action_listen"},
        user("/feedback_helpful", "SM6", intent="feedback_helpful"),
    ]
    messages, _ = run(ActionRecordFeedback(), tracker(after, last_answer_ref=ref))
    assert [m["response"] for m in messages] == ["utter_feedback_thanks"]
    assert feedback_store().get(ref).verdict == "helpful"


def test_more_with_nothing_to_continue_gets_the_polite_reply():
    conversation = [user("/more", "SM3", intent="more")]
    messages, events = run(more.ActionMoreAnswer(), tracker(conversation))
    assert [m["response"] for m in messages] == ["utter_nothing_more"]
    assert slot(events, "more_answer") == "unset"
    # a reference to a message no longer in the tracker (a new session): the same reply
    messages, events = run(more.ActionMoreAnswer(), tracker(conversation, more_answer="SM0"))
    assert [m["response"] for m in messages] == ["utter_nothing_more"] and slot(events, "more_answer") is None


def test_an_answer_with_nothing_left_out_makes_no_offer_and_clears_an_earlier_one():
    asked = [user("what do I get with pro that plus doesn't have", "SM4")]
    messages, events = run(knowledge_action.ActionSearchKnowledge(), tracker(asked, more_answer="SM1"))
    assert sms_text(messages[0]).endswith(FEEDBACK_PROMPT) and "MORE" not in sms_text(messages[0])
    assert slot(events, "more_answer") is None
    # "I don't know" clears it too, and offers nothing
    messages, events = run(
        knowledge_action.ActionSearchKnowledge(),
        tracker([user("who painted the mona lisa", "SM5")], more_answer="SM4"),
    )
    assert messages[0]["response"] == "utter_dont_know" and slot(events, "more_answer") is None


def test_the_offer_fits_three_segments_and_more_fits_its_segments_for_every_article(kb, monkeypatch):
    """Each sample article's title and section headings asked on SMS, as the customer gets it."""
    three = SmsRenderer(max_segments=3, link_base="")
    offers = 0
    for path in sorted(SAMPLE_ARTICLES.glob("*.md")):
        article = load_article(path, SAMPLE_ARTICLES)
        for question in [article.title, *(s.heading for s in article.sections if s.heading)][:4]:
            answer = kb.ask(question, channel="sms")
            if answer.method not in ("extractive", "llm"):
                continue
            text = sms_text(three.render(answer, feedback_ref="ref")[0].json_message)
            assert segments(text) <= 3 and len(text) <= MAX_CHARS, question
            assert text.endswith(MORE_PROMPT) == answer.more, question
            if answer.more:
                offers += 1
                full = kb.ask(question, channel="rest", quoted=True)
                for count in (8, 4):
                    monkeypatch.setenv("SMS_MORE_SEGMENTS", str(count))
                    reply = sms_text(
                        more.renderer_for_more("sms").render(full, feedback_ref="ref")[0].json_message
                    )
                    assert segments(reply) <= count and len(reply) <= MAX_CHARS, question
                monkeypatch.delenv("SMS_MORE_SEGMENTS")
    assert offers >= 20


def test_more_segments_never_go_below_an_answers_nor_above_twilios_body(monkeypatch):
    monkeypatch.setenv("SMS_MORE_SEGMENTS", "1")
    assert more_segments() == 3
    monkeypatch.setenv("SMS_MORE_SEGMENTS", "50")
    long = Answer("A sentence that is long enough to need many segments on its own. " * 60)
    reply = sms_text(more.renderer_for_more("sms").render(long)[0].json_message)
    assert 1400 < len(reply) <= MAX_CHARS == 1600


def test_the_dialogue_sends_more_to_its_action_and_stays_silent_during_a_handoff():
    domain = yaml.safe_load((BOT / "domain.yml").read_text())
    assert "more" in domain["intents"] and "action_more_answer" in domain["actions"]
    assert domain["slots"]["more_answer"]["influence_conversation"] is False
    rules = yaml.safe_load((BOT / "data" / "rules.yml").read_text())["rules"]
    steps = [r["steps"] for r in rules if r["steps"][0] == {"intent": "more"}]
    assert steps == [[{"intent": "more"}, {"action": "action_more_answer"}]]
    silent = next(r for r in rules if r.get("condition"))
    assert {"intent": "more"} in silent["steps"][0]["or"]
