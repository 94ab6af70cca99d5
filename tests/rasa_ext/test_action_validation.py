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
