"""The fast search path (in-memory copy, concurrent full-text query) finds what LanceDB finds."""

from pathlib import Path

import numpy as np
import pytest

from knowledge.config import SAMPLE_ARTICLES, RetrievalSettings, Settings
from knowledge.evaluation import load_questions
from knowledge.ingest import ingest_folder
from knowledge.retrieval import Retriever
from knowledge.service import KnowledgeBase
from knowledge.store import ChunkStore, KnowledgeBaseMissing


def article(title: str, body: str) -> str:
    slug = title.lower().replace(" ", "-")
    return f"---\ntitle: {title}\nurl: https://help.example/{slug}\n---\n{body}\n"


@pytest.fixture(scope="module")
def sample_uri(tmp_path_factory, embedder):
    uri = str(tmp_path_factory.mktemp("kb") / "kb")
    ingest_folder(SAMPLE_ARTICLES, ChunkStore(uri), embedder.embed)
    return uri


def test_article_ingested_while_the_bot_runs_is_found_without_restart(tmp_path: Path, embedder):
    root = tmp_path / "articles"
    root.mkdir()
    (root / "returns.md").write_text(article("Returns", "## Window\nReturn any order within 30 days."))
    (root / "shipping.md").write_text(article("Shipping", "## Cost\nStandard shipping costs $6.95."))
    uri = str(tmp_path / "kb")
    ingest_folder(root, ChunkStore(uri), embedder.embed)
    kb = KnowledgeBase(Settings(retrieval=RetrievalSettings(uri=uri)), embedder=embedder)
    question = "can you gift wrap my order"
    assert "gift-wrapping" not in kb.search(question).article_ids()
    assert "$6.95" in kb.search("how much is shipping").passages[0].text

    # Another process (the `kb ingest` CLI) adds, edits and deletes articles.
    (root / "gift-wrapping.md").write_text(
        article("Gift wrapping", "## Gift wrap\nAdd gift wrapping at checkout for $4 per order.")
    )
    (root / "shipping.md").write_text(article("Shipping", "## Cost\nStandard shipping costs $7.95."))
    (root / "returns.md").unlink()
    ingest_folder(root, ChunkStore(uri), embedder.embed)

    assert kb.search(question).article_ids()[0] == "gift-wrapping"
    shipping = kb.search("how much is shipping")
    assert "$7.95" in shipping.passages[0].text and "$6.95" not in shipping.passages[0].text
    assert "returns" not in kb.search("how long do I have to return an order").article_ids()


def test_small_and_large_tables_rank_the_same(sample_uri, embedder):
    """A table above the in-memory threshold is searched by LanceDB, with the same results."""
    store = ChunkStore(sample_uri)
    in_memory = Retriever(store, embedder, RetrievalSettings())
    above_threshold = Retriever(store, embedder, RetrievalSettings(), memory_max_rows=10)
    lancedb_only = Retriever(store, embedder, RetrievalSettings(), memory_max_rows=0)
    questions = [q.text for q in load_questions()][::5]
    for question in questions:
        fast = in_memory.search(question, limit=10)
        assert fast.article_ids() == above_threshold.search(question, limit=10).article_ids()
        slow = lancedb_only.search(question, limit=10)
        assert [p.chunk_id for p in fast.passages] == [p.chunk_id for p in slow.passages]
        assert fast.signals.score == pytest.approx(slow.signals.score, abs=1e-5)
    assert in_memory.reader.snapshot(0) is not None
    assert above_threshold.reader.too_large()


def test_single_question_embedding_matches_batch_embedding(embedder):
    texts = ["refund", "how do I reset my password after the link expired?", "word " * 400]
    batch = embedder.embed(texts)
    for text, expected in zip(texts, batch, strict=True):
        assert np.allclose(embedder.embed_one(text), expected, atol=1e-5)


def test_missing_index_is_reported_not_guessed(tmp_path, embedder):
    kb = KnowledgeBase(Settings(retrieval=RetrievalSettings(uri=str(tmp_path / "none"))), embedder=embedder)
    with pytest.raises(KnowledgeBaseMissing):
        kb.search("how do I reset my password")
