"""Every test here leaves Rasa as it found it: a patch left installed fails the test."""

from __future__ import annotations

import pytest

from rasa_ext import patches


@pytest.fixture(autouse=True)
def no_patch_left_behind():
    yield
    left = list(patches.APPLIED)
    patches.undo()
    assert not left, f"the test left patches installed: {left}"
