"""Every action test gets its own feedback database, never the developer's `.data/`."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("ACTIONS_WARM_UP", "0")


@pytest.fixture(autouse=True)
def feedback_db(tmp_path, monkeypatch):
    from actions import feedback, gaps_store

    path = tmp_path / "feedback.sqlite"
    monkeypatch.setenv("FEEDBACK_DB", str(path))
    feedback._build_feedback_store.cache_clear()
    gaps_store._build_gaps_store.cache_clear()  # refusals go beside it (actions/gaps_store.py)
    yield path
    feedback._build_feedback_store.cache_clear()
    gaps_store._build_gaps_store.cache_clear()


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
