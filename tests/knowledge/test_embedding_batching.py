"""Questions asked at the same time share one forward pass and still get their own vectors.

The action server embeds each conversation's question in its own thread; without
combining they queued on the model one pass at a time (see `Embedder.embed_one`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pytest

from knowledge.embedding import MAX_BATCH, Embedder, length_groups
from knowledge.evaluation import load_questions

# Lengths from one token to past the truncation limit, so the batch is really padded.
TEXTS = [
    "refund",
    "how do I reset my password after the link expired?",
    "can i pay for the team plan by invoice every month instead of with a credit card, "
    "and does the invoice show our VAT number",
    "word " * 400,
]


def assert_same_vectors(actual: list[np.ndarray], expected: list[np.ndarray]) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        assert got.dtype == np.float32 and got.shape == want.shape
        assert np.allclose(got, want, atol=1e-5)
        assert float(np.dot(got, want)) > 0.99999


def burst(embedder: Embedder, texts: list[str]) -> list[Future]:
    """Every text asked at once while the model is busy, so all of them queue for it."""
    barrier = threading.Barrier(len(texts) + 1)

    def ask(text: str) -> np.ndarray:
        barrier.wait(timeout=30)
        return embedder.embed_one(text)

    pool = ThreadPoolExecutor(len(texts))
    try:
        with embedder._lock:  # the model is busy (as if with another pass)
            futures = [pool.submit(ask, text) for text in texts]
            barrier.wait(timeout=30)
            wait_until(lambda: len(embedder._pending) == len(texts))
        for future in futures:
            future.exception(timeout=120)  # done, one way or the other; a hang fails here
    finally:
        pool.shutdown(wait=False)
    return futures


def wait_until(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "callers never queued"
        time.sleep(0.005)


def count_passes(embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every forward pass from now on."""
    sizes: list[int] = []
    original = embedder._embed_texts

    def counting(texts: list[str]) -> list[np.ndarray]:
        sizes.append(len(texts))
        return original(texts)

    monkeypatch.setattr(embedder, "_embed_texts", counting)
    return sizes


@pytest.mark.parametrize("traced", [True, False], ids=["traced", "eager"])
def test_padded_batch_gives_each_text_its_lone_vector(embedder, monkeypatch, traced):
    lone = [embedder.embed_one(text) for text in TEXTS]
    if traced:
        assert embedder._traced_padded, "the padded graph was rejected at start-up"
    else:
        monkeypatch.setattr(embedder, "_traced_padded", False)
    with embedder._lock:
        batch = embedder._embed_texts(list(TEXTS))
    assert_same_vectors(batch, lone)
    with embedder._lock:  # order within the batch does not matter
        reverse = embedder._embed_texts(list(reversed(TEXTS)))
    assert_same_vectors(list(reversed(reverse)), lone)


def test_simultaneous_questions_share_passes_and_get_their_own_vectors(embedder, monkeypatch):
    questions = [q.text for q in load_questions()][: MAX_BATCH + 4]
    lone = [embedder.embed_one(question) for question in questions]
    passes = count_passes(embedder, monkeypatch)

    futures = burst(embedder, questions)

    assert_same_vectors([future.result() for future in futures], lone)
    assert sorted(passes) == [4, MAX_BATCH]  # everyone who was waiting, in bounded batches
    assert len(passes) == math.ceil(len(questions) / MAX_BATCH) < len(questions)
    assert not embedder._pending and not embedder._combining and not embedder._lock.locked()


def test_a_lone_question_runs_alone_on_the_unpadded_path(embedder, monkeypatch):
    before = embedder.embed_one(TEXTS[1])
    passes = count_passes(embedder, monkeypatch)
    assert np.array_equal(embedder.embed_one(TEXTS[1]), before)
    assert passes == [1]


def test_a_failed_pass_reaches_every_caller_and_the_next_question_works(embedder, monkeypatch):
    questions = [q.text for q in load_questions()][:5]
    expected = embedder.embed_one(questions[0])

    def broken(texts: list[str]) -> list[np.ndarray]:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(embedder, "_embed_texts", broken)
    futures = burst(embedder, questions)
    errors = [future.exception() for future in futures]
    assert all(isinstance(error, RuntimeError) and str(error) == "out of memory" for error in errors)
    assert not embedder._pending and not embedder._combining and not embedder._lock.locked()

    monkeypatch.undo()
    assert np.array_equal(embedder.embed_one(questions[0]), expected)
    futures = burst(embedder, questions[:3])
    assert_same_vectors(
        [future.result() for future in futures], [embedder.embed_one(q) for q in questions[:3]]
    )


def test_passes_group_texts_of_similar_length():
    assert length_groups([12, 12, 12]) == [[0, 1, 2]]  # equal lengths: one pass
    assert length_groups([12, 13, 11]) == [[2, 0, 1]]  # padding a token is cheaper than a pass
    short_and_long = length_groups([12, 45, 11, 50, 14, 47])
    assert [sorted(g) for g in short_and_long] == [[0, 2, 4], [1, 3, 5]]
    assert length_groups([9]) == [[0]] and length_groups([]) == []


def test_a_mixed_batch_is_not_padded_to_its_longest_text(embedder, monkeypatch):
    short = ["refund", "cancel my plan", "reset password", "invoice copy"]
    long = ["how do i reset my password after the link expired and the support page did not help " * 2] * 2
    texts = short + long
    lone = [embedder.embed_one(text) for text in texts]
    shapes: list[tuple[int, int]] = []
    real = embedder._forward_padded
    monkeypatch.setattr(
        embedder, "_forward_padded", lambda ids, mask: shapes.append(tuple(ids.shape)) or real(ids, mask)
    )
    with embedder._lock:
        batch = embedder._embed_texts(texts)
    assert_same_vectors(batch, lone)
    assert len(shapes) == 2 and sorted(n for n, _ in shapes) == [2, 4]
    assert min(length for _, length in shapes) < 10  # the short ones are not padded to ~40 tokens
