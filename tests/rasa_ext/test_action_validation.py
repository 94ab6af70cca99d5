"""The cached action-response validator accepts and rejects exactly what Rasa's does."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

from rasa_ext.action_validation import validate_action_result

RESPONSES = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "unanswered_count", "value": 0.0}], "responses": [{"text": "hi"}]},
    {"events": [{"event": "bot", "text": None, "data": {"custom": {"slack": {"text": "x"}}}}]},
    {"events": [{"event": "slot", "value": "no name"}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"responses": ["not an object"]},
    {"events": None},
    {"events": ["not an object"]},
    {"events": [{"name": "no event key"}]},
    {"events": [{"event": "slot", "name": "x", "value": 1}, {"event": "followup", "name": "action_listen"}]},
    {"events": [{"event": "slot", "name": "x"}]},  # a slot event needs its value
    {"events": [{"event": "user", "text": "hi", "parse_data": {"intent": {"name": "a", "confidence": 1}}}]},
    {"events": [{"event": "user", "parse_data": {"intent": {"name": 3}}}]},
    {"events": [{"event": "bot", "text": "hi", "timestamp": "yesterday"}]},
]


@pytest.mark.parametrize("result", RESPONSES)
def test_same_verdict_and_message_as_rasa(result):
    try:
        jsonschema.validate(result, RemoteAction.action_response_format_spec())
        expected = None
    except jsonschema.ValidationError as exc:
        expected = exc.message
    if expected is None:
        assert validate_action_result(RemoteAction("action_x", None), result) is True
    else:
        with pytest.raises(jsonschema.ValidationError) as raised:
            validate_action_result(RemoteAction("action_x", None), result)
        assert raised.value.message.startswith(expected)
        assert "Failed to validate Action server response" in raised.value.message


def test_a_valid_response_skips_the_full_oneof_check(monkeypatch):
    from rasa_ext import action_validation

    full = []
    validator = action_validation.response_validator()
    real = validator.iter_errors
    monkeypatch.setattr(validator, "iter_errors", lambda result: full.append(result) or real(result))
    ok = {"events": [{"event": "slot", "name": "x", "value": 1}, {"event": "followup", "name": "action_x"}]}
    assert validate_action_result(RemoteAction("action_x", None), ok) is True
    assert full == []
    with pytest.raises(jsonschema.ValidationError):
        validate_action_result(RemoteAction("action_x", None), {"events": [{"event": "slot", "name": "x"}]})
    assert len(full) == 1  # an invalid one gets Rasa's full check and message
