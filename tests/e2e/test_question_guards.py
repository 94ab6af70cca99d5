"""A customer's question gets an answer, never "Bye" or "Anything else?", through the real
Rasa server, action server and articles (issue #17): the question guard in the NLU
pipeline (rasa_ext/question_guard.py) and the feedback action's turn-back of a "verdict"
that judges no answer (actions/feedback.py). Farewells and verdicts still work as before."""

from __future__ import annotations

import asyncio

import pytest
import yaml

from scripts.routing_report import load_agent
from scripts.stack import ROOT
from tests.e2e.conftest import say, texts, tracker

DOMAIN = yaml.safe_load((ROOT / "bot" / "domain.yml").read_text())["responses"]


def response(name: str) -> str:
    return DOMAIN[name][0]["text"]


def actions_after_last_message(stack, sender: str) -> list[str]:
    events = tracker(stack, sender)["events"]
    last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
    return [e["name"] for e in events[last_user:] if e["event"] == "action" and e["name"] != "action_listen"]


def test_a_follow_up_question_read_as_a_farewell_gets_an_answer_not_bye(plain_stack):
    sender = "guard-undo"
    say(plain_stack, sender, "how do i delete my account")
    replies = texts(say(plain_stack, sender, "can i undo that later?"))
    assert actions_after_last_message(plain_stack, sender) == ["action_search_knowledge"]
    assert replies and response("utter_goodbye") not in replies
    assert "Sources:" in replies  # answered from the articles


@pytest.mark.parametrize("message", ["still broken, the schedule is not working", "schedual not working"])
def test_a_first_message_read_as_a_complaint_gets_an_answer_not_anything_else(plain_stack, message):
    sender = f"guard-schedule-{len(message)}"
    replies = texts(say(plain_stack, sender, message))
    assert actions_after_last_message(plain_stack, sender) == [
        "action_record_feedback",
        "action_search_knowledge",
    ]
    assert replies and response("utter_anything_else") not in replies
    assert "Sources:" in replies


def test_farewells_and_verdicts_still_get_their_replies(plain_stack):
    sender = "guard-courtesy"
    say(plain_stack, sender, "how long does shipping to canada take")
    assert texts(say(plain_stack, sender, "that didn't help")) == response("utter_feedback_sorry")
    assert texts(say(plain_stack, sender, "bye")) == response("utter_goodbye")
    assert texts(say(plain_stack, sender, "no")) == response("utter_anything_else")


@pytest.mark.parametrize(
    ("text", "guard"),
    [
        ("can i undo that later?", {"relabelled": "goodbye"}),
        ("are you a bot?", {"relabelled": "bot_challenge", "unless_answered": "utter_iamabot"}),
        ("hi team, are you open on weekends?", {"relabelled": "greet", "unless_answered": "utter_greet"}),
    ],
)
def test_a_guarded_question_during_a_handoff_is_met_with_silence(model, text, guard):
    """The silence rule lists nlu_fallback: what the guard re-labels stays with the person."""
    from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    agent = load_agent(model)
    parsed = asyncio.run(agent.parse_message(text))
    assert parsed["intent"]["name"] == "nlu_fallback" and parsed["question_guard"] == guard
    state = DialogueStateTracker("guard-handoff", agent.domain.slots)
    for event in (
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        SlotSet("handoff_active", True),
        UserUttered(text, parsed["intent"], [], parsed),
    ):
        state.update(event)
    scores = agent.predict_next_with_tracker(state)["scores"]
    assert max(scores, key=lambda s: s["score"])["action"] == "action_handoff_silence"


@pytest.mark.parametrize(
    ("message", "action"),
    [
        ("thanks, bye", "utter_thanks"),
        ("can I talk to a person?", "action_handoff"),
        ("how are you?", "utter_chitchat"),
    ],
)
def test_courtesies_requests_for_a_person_and_small_talk_keep_their_replies(plain_stack, message, action):
    sender = f"guard-{action}"
    replies = texts(say(plain_stack, sender, message))
    assert actions_after_last_message(plain_stack, sender) == [action]
    if action.startswith("utter_"):
        assert replies == response(action)
    else:  # no team destination on this stack: the handoff gives the contact line
        assert "support" in replies and "Sources:" not in replies


# --- small talk that asks a question (rasa_ext/question_guard.py, "small_talk") -------------


def test_a_support_question_read_as_small_talk_is_answered_from_the_articles(plain_stack):
    """DIET reads "are you open on ..." as chitchat; the help centre has the answer."""
    sender = "guard-small-talk-hours"
    replies = texts(say(plain_stack, sender, "are you open on weekends?"))
    assert actions_after_last_message(plain_stack, sender) == ["action_search_knowledge"]
    assert "Sources:" in replies and response("utter_chitchat") not in replies


def test_small_talk_questions_keep_their_replies_and_never_lead_to_a_handoff(plain_stack):
    """Through the knowledge action, but the articles do not answer them: small talk, no
    miss counted (three in a row would otherwise have handed off after the second)."""
    sender = "guard-small-talk"
    for message, reply in [
        ("who made you?", "utter_chitchat"),
        ("are you a bot?", "utter_iamabot"),
        ("who made you?", "utter_chitchat"),
    ]:
        assert texts(say(plain_stack, sender, message)) == response(reply)
        assert actions_after_last_message(plain_stack, sender) == ["action_search_knowledge"]
    slots = tracker(plain_stack, sender)["slots"]
    assert not slots.get("handoff_active") and not slots.get("unanswered_count")


# --- a greeting or a call for help around a question (question_guard "small_talk") -------


@pytest.fixture(scope="module")
def agent(model):
    return load_agent(model)


def parsed(agent, text: str) -> dict:
    """What the trained model's NLU (the guard included) makes of a message."""
    return asyncio.run(agent.parse_message(text))


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("hi team, are you open on weekends?", "greet"),
        ("hi hi 😊 pricing?", "greet"),
        ("can anyone help me understand pricing?", "help"),
    ],
)
def test_a_question_wrapped_in_a_greeting_or_a_call_for_help_gets_the_articles_answer(
    plain_stack, agent, message, intent
):
    """DIET reads the wrap (`greet` / `help`); the articles answer the question inside it."""
    assert parsed(agent, message)["question_guard"]["relabelled"] == intent
    sender = f"guard-wrapped-{intent}-{len(message)}"
    replies = texts(say(plain_stack, sender, message))
    assert actions_after_last_message(plain_stack, sender) == ["action_search_knowledge"]
    assert "Sources:" in replies
    assert response("utter_greet") not in replies and response("utter_help") not in replies


def test_bare_greetings_and_calls_for_help_keep_their_replies_without_a_search(plain_stack, agent):
    sender = "guard-greetings"
    for message, intent, reply in [
        ("hey, how are you?", "greet", "utter_greet"),
        ("hi there?", "greet", "utter_greet"),
        ("can you help me?", "help", "utter_help"),
    ]:
        assert parsed(agent, message)["intent"]["name"] == intent
        assert texts(say(plain_stack, sender, message)) == response(reply)
        assert actions_after_last_message(plain_stack, sender) == [reply]


def test_a_wrapped_question_the_articles_do_not_answer_keeps_the_greeting_no_miss(plain_stack, agent):
    """A near miss in a greeting: the knowledge base does not answer it, so the customer
    gets the greeting, as before the guard; twice in a row still starts no handoff."""
    sender = "guard-greeting-unanswered"
    message = "hi hi 😊 do you have a refer a friend program?"
    assert parsed(agent, message)["question_guard"]["unless_answered"] == "utter_greet"
    for _ in range(2):
        assert texts(say(plain_stack, sender, message)) == response("utter_greet")
        assert actions_after_last_message(plain_stack, sender) == ["action_search_knowledge"]
    slots = tracker(plain_stack, sender)["slots"]
    assert not slots.get("handoff_active") and not slots.get("unanswered_count")


def test_a_request_for_a_person_around_a_question_still_hands_off(plain_stack):
    sender = "guard-greeting-person"
    replies = texts(say(plain_stack, sender, "hi, can I talk to a person?"))
    assert actions_after_last_message(plain_stack, sender) == ["action_handoff"]
    assert "Sources:" not in replies
