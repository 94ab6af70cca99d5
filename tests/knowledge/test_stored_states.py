"""The chunks' token states are computed by `kb ingest` and read from the index by a search.

Through a real LanceDB directory and the real model: a customer's turn must never pay for a
chunk's pass (about 24 ms under the model's lock), and the stored states must give the
reading signal exactly the values the model gives.
"""

import logging
import shutil

import numpy as np
import pytest

from knowledge.config import SAMPLE_ARTICLES, RetrievalSettings, Settings
from knowledge.ingest import ingest_folder
from knowledge.reading import StateWriter, TokenStates, chunk_text, decode_states
from knowledge.service import KnowledgeBase
from knowledge.store import ChunkStore

ARTICLES = ("change-or-cancel-your-plan", "reset-your-password", "refund-timing", "track-your-order")
QUESTIONS = ("can i swap to the cheaper plan", "cancel my hulu subscription", "how long do refunds take")


class Counting:
    """The model's chunk pass, counted (question states come from the embedding pass)."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.passes = 0

    def token_states(self, text: str):
        self.passes += 1
        return self.embedder.token_states(text)


@pytest.fixture()
def articles(tmp_path):
    root = tmp_path / "articles"
    root.mkdir()
    found = {p.stem: p for p in SAMPLE_ARTICLES.rglob("*.md")}
    for name in ARTICLES:
        shutil.copy(found[name], root / found[name].name)
    return root


def writer(embedder, model=None):
    return StateWriter(model or embedder.model_name, embedder.token_states)


def engine(uri, embedder):
    """An engine with its own (empty) state cache whose chunk passes are counted."""
    kb = KnowledgeBase(Settings(retrieval=RetrievalSettings(uri=uri)), embedder=embedder)
    counting = Counting(embedder)
    kb.retriever.token_states = TokenStates(counting)
    return kb, counting


def stored_rows(store: ChunkStore) -> dict[str, dict]:
    table = store.open_states()
    return {row["chunk_id"]: row for row in table.to_arrow().to_pylist()} if table is not None else {}


def test_ingest_stores_every_chunks_token_states_with_the_index(tmp_path, articles, embedder):
    store = ChunkStore(str(tmp_path / "kb"), embedding_model=embedder.model_name)
    report = ingest_folder(articles, store, embedder.embed, states=writer(embedder))
    chunks = store.table.to_arrow().to_pylist()
    assert report.states_written == len(chunks) == store.open_states().count_rows()
    assert store.stored_states_stamp()[:2] == (embedder.model_name, "float16-le-v1")
    stored = stored_rows(store)
    for chunk in chunks[:5]:  # exactly the states the model gives, in float16
        row = stored[chunk["chunk_id"]]
        expected = embedder.token_states(chunk_text(chunk))[1].astype(np.float16)
        assert np.array_equal(decode_states(row["states"], row["tokens"]), expected)

    again = ingest_folder(articles, store, embedder.embed, states=writer(embedder))
    assert not again.changed and again.states_written == 0  # nothing recomputed

    plan = next(articles.glob("change-or-cancel-your-plan.md"))
    plan.write_text(plan.read_text() + "\nPlan changes show on the next invoice.\n")
    next(articles.glob("track-your-order.md")).unlink()
    third = ingest_folder(articles, store, embedder.embed, states=writer(embedder))
    plan_chunks = {c["chunk_id"] for c in store.table.to_arrow().to_pylist() if c["article_id"] == plan.stem}
    # only the edited chunk (chunk ids follow their content; the others kept their states)
    assert third.changed and 1 <= third.states_written < len(plan_chunks)
    stored = stored_rows(store)
    assert set(stored) == {
        c["chunk_id"] for c in store.table.to_arrow().to_pylist()
    }  # the deleted one's gone


def test_a_search_reads_stored_states_and_never_runs_the_model_over_a_chunk(tmp_path, articles, embedder):
    uri = str(tmp_path / "kb")
    ingest_folder(
        articles,
        ChunkStore(uri, embedding_model=embedder.model_name),
        embedder.embed,
        states=writer(embedder),
    )
    kb, counting = engine(uri, embedder)
    assert kb.warm_reading() == ChunkStore(uri).count() and counting.passes == 0
    cold, cold_counting = engine(uri, embedder)  # no warm-up: each top article looked up
    for question in QUESTIONS:
        assert kb.search(question).signals.reading == cold.search(question).signals.reading > 0
    assert counting.passes == cold_counting.passes == 0

    # the same values as states the model computes during the search (an index from before)
    computed, computed_counting = engine(uri, embedder)
    computed.retriever.stored_states.model = "another-model"
    for question in QUESTIONS:
        assert computed.search(question).signals.reading == kb.search(question).signals.reading
    assert computed_counting.passes > 0
    # the decision is the one the test engine test expects of the full index
    assert kb.outcome(kb.search("can i swap to the cheaper plan")) == "answer"


def test_an_index_from_before_still_reads_and_says_so_and_ingest_adds_the_states(
    tmp_path, articles, embedder, caplog
):
    uri = str(tmp_path / "kb")
    store = ChunkStore(uri, embedding_model=embedder.model_name)
    ingest_folder(articles, store, embedder.embed)  # as before this change: no states
    assert store.open_states() is None
    kb, counting = engine(uri, embedder)
    with caplog.at_level(logging.WARNING, logger="knowledge.reading"):
        result = kb.search("can i swap to the cheaper plan")
    assert result.signals.reading > 0 and counting.passes > 0  # computed, as before
    assert "no stored token states" in caplog.text

    upgrade = ingest_folder(articles, store, embedder.embed, states=writer(embedder))
    assert not upgrade.changed and upgrade.states_written == store.count()  # no re-embedding
    fresh, fresh_counting = engine(uri, embedder)
    assert fresh.search("can i swap to the cheaper plan").signals.reading == result.signals.reading
    assert fresh_counting.passes == 0


def test_states_written_by_another_model_are_never_used(tmp_path, articles, embedder, caplog):
    uri = str(tmp_path / "kb")
    store = ChunkStore(uri, embedding_model=embedder.model_name)
    ingest_folder(articles, store, embedder.embed, states=writer(embedder, model="other-model"))
    kb, counting = engine(uri, embedder)
    with caplog.at_level(logging.WARNING, logger="knowledge.reading"):
        kb.search("how long do refunds take")
    assert counting.passes > 0
    assert "written by other-model" in caplog.text

    # the next ingest with this model replaces them all, never mixing the two
    replaced = ingest_folder(articles, store, embedder.embed, states=writer(embedder))
    assert replaced.states_written == store.count()
    assert store.stored_states_stamp()[0] == embedder.model_name
    fresh, fresh_counting = engine(uri, embedder)
    fresh.search("how long do refunds take")
    assert fresh_counting.passes == 0
