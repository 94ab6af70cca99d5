"""The event-type table gives Rasa's answers without walking the subclasses per event."""

from __future__ import annotations

import pytest
from rasa.shared.core.events import ActionExecuted, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils import common

from rasa_ext import patches

RASA_RESOLVE = Event.resolve_by_type


@pytest.fixture
def walks(monkeypatch):
    """Counts the walks over Event's subclasses made by the table (installed afterwards)."""
    counted = []
    real = common.all_subclasses
    # (all_subclasses calls itself per subclass: only the walks from the top are counted)
    monkeypatch.setattr(
        common, "all_subclasses", lambda cls: (cls is Event and counted.append(cls)) or real(cls)
    )
    with patches.installed("event_types"):
        yield counted


def test_every_event_name_resolves_to_rasas_class(walks):
    names = {cls.type_name for cls in common.all_subclasses(Event)}
    assert len(names) > 20
    for name in names:
        assert Event.resolve_by_type(name) is RASA_RESOLVE(name)


def test_unknown_names_and_defaults_behave_as_in_rasa(walks):
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")
    assert Event.resolve_by_type("no_such_event", default=UserUttered) is UserUttered
    assert Event.resolve_by_type("topic") is None


def test_a_conversation_is_rebuilt_with_one_walk_over_the_classes(walks):
    stored = []
    for n in range(30):
        stored += [
            UserUttered(f"question {n}", {"name": "ask_knowledge", "confidence": 0.9}).as_dict(),
            ActionExecuted("action_search_knowledge").as_dict(),
            ActionExecuted("action_listen").as_dict(),
        ]
    walks.clear()
    tracker = DialogueStateTracker.from_dict("c1", stored, [])
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)][-1] == "question 29"
    assert len(walks) == 1  # Rasa's own lookup walks once per event: 90 here


def test_a_class_defined_later_is_found(walks):
    Event.resolve_by_type("user")  # table built

    class LateEvent(ActionExecuted):
        type_name = "late_event_for_test"

    assert Event.resolve_by_type("late_event_for_test") is LateEvent
    assert Event.resolve_by_type("late_event_for_test") is LateEvent  # and kept in the table
