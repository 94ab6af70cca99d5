"""A customer talks to the real bot over the REST channel, with no model API configured:
the fresh-machine experience of `make run`."""

from __future__ import annotations

import pytest
import yaml

from scripts.stack import ROOT
from tests.e2e.conftest import say, texts, tracker

DOMAIN = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())
GREETING = DOMAIN["responses"]["utter_greet"][0]["text"]
DONT_KNOW = DOMAIN["responses"]["utter_dont_know"][0]["text"]
ARTICLE = "https://help.nimbushome.example/articles/"

QUESTIONS = [
    ("hey do you guys ship to the UK?", "international-shipping"),
    ("how many days until my refund shows up on my card", "refund-timing"),
    ("the thermostat screen is blank", "display-blank-or-no-power"),
]


def test_greeting_gets_the_greeting(plain_stack):
    assert texts(say(plain_stack, "greeter", "hello there")) == GREETING


@pytest.mark.parametrize("question,article", QUESTIONS)
def test_questions_are_answered_with_a_citation_of_the_right_article(plain_stack, question, article):
    replies = say(plain_stack, f"asker-{article}", question)
    text = texts(replies)
    assert "[1]" in text, text
    assert "Sources:" in text and ARTICLE + article in text, text
    payload = next(r["custom"] for r in replies if r.get("custom"))
    assert payload["citations"][0]["url"] == ARTICLE + article
    assert payload["method"] == "extractive"


def test_unsure_question_gets_the_nearest_articles_as_links(plain_stack):
    """Below the confident bar but clearly about the help centre: the articles that may help."""
    replies = say(plain_stack, "unsure", "is there a nimbus app for my smart tv")
    text = texts(replies)
    assert "these articles may help" in text and "[1]" not in text, text
    payload = next(r["custom"] for r in replies if r.get("custom"))
    assert payload["type"] == "knowledge_suggestions" and 1 <= len(payload["articles"]) <= 3
    assert all(a["url"].startswith(ARTICLE) and f"]({a['url']})" in text for a in payload["articles"])
    assert not any(r.get("buttons") for r in replies)


def test_off_topic_question_gets_dont_know(plain_stack):
    replies = say(plain_stack, "offtopic", "what is the capital city of australia?")
    assert texts(replies) == DONT_KNOW
    assert not any(r.get("custom") for r in replies)


def test_history_survives_a_rasa_restart(plain_stack):
    sender = "returning-customer"
    say(plain_stack, sender, "hi")
    say(plain_stack, sender, "how do I return my thermostat?")
    plain_stack.stop("rasa")
    plain_stack.start_rasa()
    events = tracker(plain_stack, sender)["events"]
    said = [e["text"] for e in events if e["event"] == "user"]
    assert said == ["hi", "how do I return my thermostat?"]
    # And the conversation goes on where it was.
    say(plain_stack, sender, "thanks")
    said = [e["text"] for e in tracker(plain_stack, sender)["events"] if e["event"] == "user"]
    assert said[-1] == "thanks" and len(said) == 3
