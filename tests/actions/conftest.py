"""Every action test gets its own feedback and handoff databases, never the developer's `.data/`."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("ACTIONS_WARM_UP", "0")


@pytest.fixture(autouse=True)
def feedback_db(tmp_path, monkeypatch):
    from actions import feedback, gaps_store, handoff

    path = tmp_path / "feedback.sqlite"
    monkeypatch.setenv("FEEDBACK_DB", str(path))
    monkeypatch.delenv("HANDOFF_DB", raising=False)  # so handoffs.sqlite sits beside it
    monkeypatch.delenv("GAPS_DB", raising=False)  # and gaps.sqlite (actions/gaps_store.py)
    feedback._build_feedback_store.cache_clear()
    gaps_store._build_gaps_store.cache_clear()
    handoff._build_store.cache_clear()
    yield path
    feedback._build_feedback_store.cache_clear()
    gaps_store._build_gaps_store.cache_clear()
    handoff._build_store.cache_clear()


@pytest.fixture(scope="session")
def sample_kb_uri(tmp_path_factory) -> str:
    """One real LanceDB index of the sample articles for the modules that only read it."""
    from knowledge.config import SAMPLE_ARTICLES
    from knowledge.embedding import default_embedder
    from knowledge.ingest import ingest_folder
    from knowledge.store import ChunkStore

    uri = str(tmp_path_factory.mktemp("sample-kb") / "kb")
    ingest_folder(SAMPLE_ARTICLES, ChunkStore(uri), default_embedder().embed)
    return uri
