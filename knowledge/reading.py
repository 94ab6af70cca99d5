"""Does the top article say something about every word the question turns on?

One vector per chunk says how close a passage is to a question as a whole, and a near
miss is close as a whole: "can i pick my order up at the warehouse" is about an order,
"cancel my spotify subscription" about cancelling a subscription. What gives it away is
one word the article has nothing for. Counting the question's words in the article
(`key_term_coverage`) catches that only when the words are spelt alike, so it also
doubts every paraphrase ("phones signed in" against "devices", "money back" against
"refund").

This reads the question against the passage word piece by word piece, in the embedding
model's own token states (late interaction, as ColBERT scores): each content word piece
of the question is matched to the most similar token of the top article's retrieved
chunks, and the signal is the weakest of those matches. A token state carries its
context, so "money back" in a question about a return finds "refund" while "spotify"
finds nothing. Measured on the tune part as one more input of the decision
(docs/knowledge-quality.md, "reading signal").

A chunk's token states are computed from its text the first time it is a top article's
chunk and kept (float16, bounded), so a warm index pays only a small matrix product.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict

import numpy as np

# Chunks whose token states are kept (about 0.15 MB each at 200 tokens, float16).
MAX_CACHED_CHUNKS = 2048
_PIECE = re.compile(r"^(##)?[a-z0-9]")


def content_pieces(pieces: list[str], stop_words: frozenset[str]) -> np.ndarray:
    """Mask of the word pieces that belong to a content word (not a stop word, not punctuation)."""
    mask, stop = [], False
    for piece in pieces:
        if not _PIECE.match(piece):
            mask.append(False)
            continue
        if not piece.startswith("##"):
            stop = piece in stop_words or len(piece) < 2
        mask.append(not stop)
    return np.array(mask, dtype=bool)


def chunk_text(row: dict) -> str:
    """What a chunk's token states are computed from: its title and heading name the topic."""
    return f"{row.get('title') or ''}. {row.get('section') or ''}. {row.get('text') or ''}"


class TokenStates:
    """Token states of chunks, computed on first use and kept (least recently used dropped).

    One per embedding model in a process (`shared`): every engine on the same model reads
    the same chunks the same way, so `kb eval`'s several engines, the calibration's
    searches and the tests' engines compute each chunk once.
    """

    def __init__(self, embedder, max_chunks: int = MAX_CACHED_CHUNKS) -> None:
        self.embedder = embedder
        self.max_chunks = max_chunks
        self._cache: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, embedder) -> TokenStates:
        with _SHARED_LOCK:
            try:
                found = _SHARED.get(embedder)
            except TypeError:  # an embedder that cannot be weakly referenced keeps its own
                return cls(embedder)
            if found is None:
                found = _SHARED[embedder] = cls(embedder)
            return found

    def available(self) -> bool:
        return hasattr(self.embedder, "token_states")

    def of_chunk(self, row: dict) -> np.ndarray:
        text = chunk_text(row)
        key = (row["chunk_id"], hash(text))
        with self._lock:
            states = self._cache.get(key)
            if states is not None:
                self._cache.move_to_end(key)
                return states
        states = self.embedder.token_states(text)[1].astype(np.float16)
        with self._lock:
            self._cache[key] = states
            while len(self._cache) > self.max_chunks:
                self._cache.popitem(last=False)
        return states

    def warm(self, rows: list[dict]) -> int:
        """Compute the states of the chunks not kept yet, up to the cache's size; how many kept.

        At start-up, so no customer's turn pays for a chunk's first pass: computed on
        first use, a burst of new questions queued behind those passes (overhead p99 3 s
        at 32 conversations in `bench.channels`). One pass per chunk, the model's lock
        taken per pass, so a question arriving meanwhile waits for one pass at most
        (padded passes of several chunks were slower here: 13.4 s against 6.6 s for the
        sample's 222 chunks).
        """
        done = 0
        for row in rows:
            if len(self._cache) >= self.max_chunks:
                break
            self.of_chunk(row)
            done += 1
        return done


_SHARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


def weakest_match(question: np.ndarray, chunks: list[np.ndarray]) -> float:
    """The least any question word piece finds in the chunks (min over MaxSim).

    Chunk by chunk: widening each float16 chunk on its own and leaving the transpose to
    the matrix product costs half of stacking them first (0.8 vs 1.5 ms for five chunks).
    """
    best = None
    for states in chunks:
        if len(states):
            found = (question @ states.astype(np.float32).T).max(axis=1)
            best = found if best is None else np.maximum(best, found)
    if best is None or not len(question):
        return 0.0
    return float(best.min())
