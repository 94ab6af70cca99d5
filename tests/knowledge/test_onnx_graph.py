"""Questions are embedded through ONNX Runtime and still get PyTorch's vectors.

The graph is a speed-up only: whatever goes wrong with it (missing package, unreadable
cache, a graph that computes something else) must leave the bot answering on PyTorch.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from knowledge import onnx_graph
from knowledge.embedding import Embedder
from knowledge.evaluation import load_questions

QUESTIONS = [q.text for q in load_questions()][:12]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_embedder(cache):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KB_MODEL_CACHE", str(cache))
        embedder = Embedder(onnx=True)
        embedder.embed_one("warm up")
    return embedder


@pytest.fixture(scope="module")
def torch_embedder():
    embedder = Embedder(onnx=False)
    embedder.embed_one("warm up")
    return embedder


def test_questions_get_the_vectors_pytorch_gives(onnx_embedder, torch_embedder, embedder):
    assert onnx_embedder.backend == "onnx" and torch_embedder.backend == "torchscript"
    for question in QUESTIONS:
        got, want = onnx_embedder.embed_one(question), torch_embedder.embed_one(question)
        assert got.dtype == np.float32 and np.allclose(got, want, atol=1e-5)
    # and the same as ingestion embeds them (sentence-transformers' own encode)
    encoded = embedder.embed(QUESTIONS)
    for question, want in zip(QUESTIONS, encoded, strict=True):
        assert float(np.dot(onnx_embedder.embed_one(question), want)) > 0.99999


def test_a_padded_batch_matches_the_lone_vectors(onnx_embedder):
    lone = [onnx_embedder.embed_one(q) for q in QUESTIONS[:6]]
    with onnx_embedder._lock:
        batch = onnx_embedder._embed_texts(QUESTIONS[:6])
    for got, want in zip(batch, lone, strict=True):
        assert np.allclose(got, want, atol=1e-5)


def test_the_export_is_cached_for_the_next_start(onnx_embedder, cache, monkeypatch):
    assert len(list(cache.glob("*.onnx"))) == 1
    monkeypatch.setenv("KB_MODEL_CACHE", str(cache))

    def no_export(*args, **kwargs):
        raise AssertionError("exported again although the cached graph was there")

    monkeypatch.setattr(onnx_graph, "_export", no_export)
    second = Embedder(onnx=True)
    assert np.array_equal(second.embed_one(QUESTIONS[0]), onnx_embedder.embed_one(QUESTIONS[0]))
    assert second.backend == "onnx"


def test_an_unreadable_cached_graph_is_exported_again(onnx_embedder, cache, tmp_path, monkeypatch):
    broken = tmp_path / "cache"
    broken.mkdir()
    (cached,) = cache.glob("*.onnx")
    (broken / cached.name).write_bytes(cached.read_bytes()[:1000])  # an interrupted copy
    monkeypatch.setenv("KB_MODEL_CACHE", str(broken))
    again = Embedder(onnx=True)
    assert np.allclose(again.embed_one(QUESTIONS[1]), onnx_embedder.embed_one(QUESTIONS[1]), atol=1e-6)
    assert again.backend == "onnx"
    assert (broken / cached.name).stat().st_size == cached.stat().st_size


def test_a_graph_that_disagrees_with_pytorch_is_not_used(torch_embedder, cache, monkeypatch, caplog):
    monkeypatch.setenv("KB_MODEL_CACHE", str(cache))
    real_call = onnx_graph.OnnxStates.__call__
    monkeypatch.setattr(onnx_graph.OnnxStates, "__call__", lambda self, *a: real_call(self, *a) * 1.01)
    with caplog.at_level(logging.WARNING, logger="knowledge.onnx_graph"):
        fallback = Embedder(onnx=True)
        vector = fallback.embed_one(QUESTIONS[2])
    assert fallback.backend == "torchscript"
    assert np.array_equal(vector, torch_embedder.embed_one(QUESTIONS[2]))
    assert "disagrees with PyTorch" in caplog.text


def test_without_onnxruntime_questions_are_embedded_with_pytorch(torch_embedder, monkeypatch, caplog):
    import builtins

    real_import = builtins.__import__

    def no_onnxruntime(name, *args, **kwargs):
        if name == "onnxruntime" or name.startswith("onnxruntime."):
            raise ImportError("No module named 'onnxruntime'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnxruntime)
    plain = Embedder(onnx=True)
    assert np.array_equal(plain.embed_one(QUESTIONS[3]), torch_embedder.embed_one(QUESTIONS[3]))
    assert plain.backend == "torchscript"


def test_the_backend_can_be_chosen_by_environment(monkeypatch):
    monkeypatch.setenv("KB_EMBEDDING_BACKEND", "torch")
    chosen = Embedder()
    chosen.embed_one("warm up")
    assert chosen.backend == "torchscript"
