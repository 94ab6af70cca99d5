"""Every action test gets its own feedback and handoff databases, never the developer's `.data/`."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("ACTIONS_WARM_UP", "0")


@pytest.fixture(autouse=True)
def feedback_db(tmp_path, monkeypatch):
    from actions import feedback, handoff

    path = tmp_path / "feedback.sqlite"
    monkeypatch.setenv("FEEDBACK_DB", str(path))
    monkeypatch.delenv("HANDOFF_DB", raising=False)  # so handoffs.sqlite sits beside it
    feedback._build_feedback_store.cache_clear()
    handoff._build_store.cache_clear()
    yield path
    feedback._build_feedback_store.cache_clear()
    handoff._build_store.cache_clear()
