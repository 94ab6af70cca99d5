"""Debug-only deep copies are skipped unless Rasa logs at DEBUG, where they stay copies."""

from __future__ import annotations

import copy
import logging

import pytest
from rasa.core.policies import memoization

from rasa_ext import debug_log_copies


@pytest.fixture
def installed(monkeypatch):
    for module in debug_log_copies.MODULES:
        monkeypatch.setattr(module, "copy", debug_log_copies._CopyForDebugLogs)
    rasa_log = logging.getLogger("rasa")
    before = rasa_log.level
    yield rasa_log
    rasa_log.setLevel(before)  # setLevel also clears logging's enabled-for cache


def test_no_copy_while_debug_is_off(installed):
    installed.setLevel(logging.INFO)
    states = [{"user": {"intent": "greet"}}]
    assert memoization.copy.deepcopy(states) is states


def test_debug_logging_still_gets_a_copy(installed):
    installed.setLevel(logging.DEBUG)
    states = [{"user": {"intent": "greet"}}]
    copied = memoization.copy.deepcopy(states)
    assert copied == states and copied is not states and copied[0] is not states[0]


def test_the_three_modules_use_copy_only_for_deepcopy():
    # The shim offers only `deepcopy`; anything else those modules took from `copy`
    # would break at run time, so check their source for it.
    import inspect
    import re

    for module in debug_log_copies.MODULES:
        used = set(re.findall(r"\bcopy\.(\w+)", inspect.getsource(module)))
        assert used <= {"deepcopy"}, (module.__name__, used)
    assert copy.deepcopy is not debug_log_copies._CopyForDebugLogs.deepcopy
