"""Debug-only deep copies are skipped unless Rasa logs at DEBUG, where they stay copies."""

from __future__ import annotations

import copy
import inspect
import logging
import re

import pytest
from rasa.core import processor
from rasa.core.policies import memoization, rule_policy

from rasa_ext import patches

MODULES = (processor, memoization, rule_policy)


@pytest.fixture
def rasa_log():
    log = logging.getLogger("rasa")
    before = log.level
    with patches.installed("debug_log_copies"):
        yield log
    log.setLevel(before)  # setLevel also clears logging's enabled-for cache


def test_no_copy_while_debug_is_off(rasa_log):
    rasa_log.setLevel(logging.INFO)
    states = [{"user": {"intent": "greet"}}]
    assert memoization.copy.deepcopy(states) is states


def test_debug_logging_still_gets_a_copy(rasa_log):
    rasa_log.setLevel(logging.DEBUG)
    states = [{"user": {"intent": "greet"}}]
    copied = memoization.copy.deepcopy(states)
    assert copied == states and copied is not states and copied[0] is not states[0]


def test_the_three_modules_use_copy_only_for_deepcopy():
    # The shim offers only `deepcopy`; anything else those modules took from `copy`
    # would break at run time, so check their source for it.
    for module in MODULES:
        used = set(re.findall(r"\bcopy\.(\w+)", inspect.getsource(module)))
        assert used <= {"deepcopy"}, (module.__name__, used)
    assert all(module.copy is copy for module in MODULES)  # and nothing left installed
