"""The rule policy's second request for a conversation's states is answered from the first.

Every answer must equal what Rasa computes, whatever happened to the tracker in between.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext import patches

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "bot" / "domain.yml"))
RULE_ONLY = {"slots": ["handoff_active"], "loops": []}
RASA = Domain.states_for_tracker_history  # Rasa's own computation, uncounted


def turn(text: str, intent: str, action: str = "action_search_knowledge", hidden: bool = False) -> list:
    return [
        UserUttered(text, {"name": intent, "confidence": 0.9}),
        ActionExecuted(action, hide_rule_turn=hidden),
        BotUttered(f"answer to {text}"),
        ActionExecuted("action_listen", hide_rule_turn=hidden),
    ]


def conversation(**kwargs) -> DialogueStateTracker:
    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    events += turn("hi", "greet", "utter_greet", hidden=True)
    events += turn("do you ship to canada?", "ask_knowledge")
    events += [SlotSet("unanswered_count", 1.0)]
    events += turn("and how long does that take?", "ask_knowledge")
    return DialogueStateTracker.from_events("c1", events, DOMAIN.slots, **kwargs)


def rasa_states(tracker: DialogueStateTracker, **kwargs) -> list:
    return RASA(DOMAIN, tracker, **kwargs)


@pytest.fixture
def computed(monkeypatch):
    """Installs the addition and counts how often Rasa really computes the states."""
    calls = []
    real = Domain.states_for_tracker_history

    def counting(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Domain, "states_for_tracker_history", counting)
    with patches.installed("past_states"):
        yield calls


@pytest.mark.parametrize("ignore_rule_only_turns", [False, True])
def test_the_second_request_is_not_computed_again_and_equals_rasas(computed, ignore_rule_only_turns):
    tracker = conversation()
    args = {"ignore_rule_only_turns": ignore_rule_only_turns, "rule_only_data": RULE_ONLY}
    first = tracker.past_states(DOMAIN, **args)
    second = tracker.past_states(DOMAIN, **args)
    assert len(computed) == 1
    assert first == second == rasa_states(conversation(), **args)


def test_a_caller_editing_its_states_does_not_change_the_next_answer(computed):
    tracker = conversation()
    first = tracker.past_states(DOMAIN, rule_only_data=RULE_ONLY)
    first[-1]["user"].pop("intent", None)  # what Rasa does when it matches on text
    first[-1].clear()
    assert tracker.past_states(DOMAIN, rule_only_data=RULE_ONLY) == rasa_states(
        conversation(), rule_only_data=RULE_ONLY
    )


def test_a_new_event_other_arguments_or_another_tracker_compute_afresh(computed):
    tracker = conversation()
    tracker.past_states(DOMAIN)
    tracker.update(UserUttered("thanks", {"name": "thanks", "confidence": 1.0}))
    after = tracker.past_states(DOMAIN)
    assert len(computed) == 2 and after == rasa_states(tracker)
    tracker.past_states(DOMAIN, ignore_rule_only_turns=True, rule_only_data=RULE_ONLY)
    tracker.past_states(DOMAIN, omit_unset_slots=True)
    conversation().past_states(DOMAIN)
    assert len(computed) == 5


def test_a_tracker_that_keeps_its_length_still_sees_its_new_event(computed):
    tracker = conversation(max_event_history=8)
    before = tracker.past_states(DOMAIN)
    length = len(tracker.events)
    tracker.update(UserUttered("thanks", {"name": "thanks", "confidence": 1.0}))
    assert len(tracker.events) == length
    after = tracker.past_states(DOMAIN)
    assert len(computed) == 2 and after == rasa_states(tracker) and after != before
