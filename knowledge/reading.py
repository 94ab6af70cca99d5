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

A chunk's token states are computed once, by `kb ingest`, and stored beside the chunks
(`ChunkStore.states_table`, float16): a search reads the top article's stored states and
never runs the model over a chunk on a customer's turn (about 24 ms a chunk, under the
model's lock). They are kept in memory (float16, bounded), so a warm index pays only a
small matrix product. An index written before ingestion stored them still works: a
chunk's states are then computed from its text the first time it is a top article's
chunk, as before, and a log line says so (the next `kb ingest` adds them).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from knowledge.store import STATES_FORMAT, ChunkStore, states_schema, states_stamp

log = logging.getLogger(__name__)

# Chunks whose token states are kept (about 0.15 MB each at 200 tokens, float16).
MAX_CACHED_CHUNKS = 2048
# How often an index without usable stored states is looked at again (`kb ingest` may add them).
STATES_RECHECK_SECONDS = 30.0
_PIECE = re.compile(r"^(##)?[a-z0-9]")


def content_pieces(pieces: list[str], stop_words: frozenset[str]) -> np.ndarray:
    """Mask of the word pieces that belong to a content word (not a stop word, not punctuation).

    A word is a stop word by its first piece ("what" of "whats") or whole ("pls" is "pl" +
    "##s": by its first piece alone it would count as a word no article has).
    """
    mask = np.zeros(len(pieces), dtype=bool)
    i = 0
    while i < len(pieces):
        if not _PIECE.match(pieces[i]) or pieces[i].startswith("##"):
            i += 1  # punctuation, or a continuation with no word before it
            continue
        end = i + 1
        while end < len(pieces) and pieces[end].startswith("##") and _PIECE.match(pieces[end]):
            end += 1
        first = pieces[i]
        word = first + "".join(p[2:] for p in pieces[i + 1 : end])
        mask[i:end] = not (first in stop_words or len(first) < 2 or word in stop_words)
        i = end
    return mask


def chunk_text(row: dict) -> str:
    """What a chunk's token states are computed from: its title and heading name the topic.

    Not the text its vector is embedded from (`Chunk.search_text`, joined by newlines):
    the decision's weights were fitted on states of this text, and states of the other
    would move every reading value (see `StateWriter`).
    """
    return f"{row.get('title') or ''}. {row.get('section') or ''}. {row.get('text') or ''}"


def text_hash(text: str) -> str:
    """Stable across processes (unlike `hash`): stored states name the text they were read from."""
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def encode_states(states: np.ndarray) -> bytes:
    return np.ascontiguousarray(states, dtype="<f2").tobytes()


def decode_states(data: bytes, tokens: int) -> np.ndarray:
    """A read-only view of the stored bytes: MaxSim only reads them."""
    flat = np.frombuffer(data, dtype="<f2")
    return flat.reshape(tokens, -1) if tokens else flat.reshape(0, 0)


@dataclass(frozen=True)
class StateWriter:
    """What `kb ingest` stores the chunks' token states with: the model's name and its pass.

    A pass of its own per chunk, over `chunk_text`, not the states of the pass that
    embeds the chunk's vector: that pass reads another text (`Chunk.search_text`) in
    padded batches, so its states would change every stored reading value and the
    decision's weights, which were fitted on these. One unpadded pass per chunk is also
    the cheapest way found to compute them (see `TokenStates.warm`) and gives exactly the
    states a search computed before they were stored, bit for bit. It costs about 24 ms
    a chunk at ingestion, where nobody waits (docs/benchmarks.md).
    """

    model: str
    token_states: Callable[[str], tuple[list[str], np.ndarray]]

    def table(self, rows: Sequence[dict]) -> pa.Table:
        """State rows for chunk rows (`chunk_id`, `article_id`, `title`, `section`, `text`)."""
        ids, articles, hashes, counts, blobs = [], [], [], [], []
        dimension = 0
        for row in rows:
            text = chunk_text(row)
            states = self.token_states(text)[1].astype(np.float16)
            dimension = dimension or (states.shape[1] if states.ndim == 2 else 0)
            ids.append(row["chunk_id"])
            articles.append(row["article_id"])
            hashes.append(text_hash(text))
            counts.append(len(states))
            blobs.append(encode_states(states))
        schema = states_schema(self.model, dimension)
        return pa.table(
            {"chunk_id": ids, "article_id": articles, "text_hash": hashes, "tokens": counts, "states": blobs},
            schema=schema,
        )


class StoredStates:
    """One index's stored token states, read by a retriever (a keyed lookup per miss).

    Used only when they were written by the model that reads the questions, in the form
    this code reads (the table's stamp, `knowledge.store.states_schema`): states of two
    models are not comparable. Otherwise, or for an index from before ingestion stored
    them, `usable` is False and the caller computes states as it did before, and a log
    line says why, once.
    """

    def __init__(self, store: ChunkStore, model: str | None, dimension: int | None = None) -> None:
        self.store = store
        self.model = model
        self.dimension = dimension
        self._table = None
        self._checked = -1e9
        self._said: str | None = None
        self._lock = threading.Lock()

    def _open(self):
        with self._lock:
            if self._table is not None:
                return self._table
            now = time.monotonic()
            if now - self._checked < STATES_RECHECK_SECONDS:
                return None
            self._checked = now
            table = self.store.open_states()
            reason = self._unusable(table)
            if reason is None:
                self._table = table
                self._said = None
                log.info("reading signal: stored token states of index %s", self.store.uri)
            elif reason != self._said:
                self._said = reason
                log.warning(
                    "reading signal: %s at %s; computing each chunk's token states with the model "
                    "on first use (run `kb ingest` to store them)",
                    reason,
                    self.store.uri,
                )
            return self._table

    def _unusable(self, table) -> str | None:
        if table is None:
            return "the index has no stored token states (written before `kb ingest` stored them)"
        stamp = states_stamp(table.schema)
        if stamp is None or self.model is None:
            return "the stored token states name no embedding model"
        model, form, dimension = stamp
        if model != self.model or (self.dimension and dimension != self.dimension):
            return f"the stored token states were written by {model}, not {self.model}: ignored"
        if form != STATES_FORMAT:
            return f"the stored token states are in another form ({form}): ignored"
        return None

    def usable(self) -> bool:
        return self._open() is not None

    def lookup(self, wanted: dict[str, str]) -> dict[str, np.ndarray]:
        """Stored states of the wanted chunk ids (id -> text hash) whose text is unchanged.

        A chunk not found or changed may have been written by an ingestion since this
        table version: looked up once more at the latest version before the caller
        computes it.
        """
        table = self._open()
        if table is None or not wanted:
            return {}
        try:
            found = self._read(self.store.read_states(table, list(wanted)), wanted)
            if len(found) < len(wanted):
                table.checkout_latest()
                missing = {k: v for k, v in wanted.items() if k not in found}
                found.update(self._read(self.store.read_states(table, list(missing)), missing))
        except Exception as exc:  # noqa: BLE001 - e.g. dropped by a rebuild: compute, reopen later
            self._lost(exc)
            return {}
        return found

    def every(self, wanted: dict[str, str]) -> dict[str, np.ndarray]:
        """`lookup` by one scan of the whole table (the warm-up of an index the cache holds)."""
        table = self._open()
        if table is None or not wanted:
            return {}
        try:
            data = table.to_arrow().select(["chunk_id", "text_hash", "tokens", "states"])
        except Exception as exc:  # noqa: BLE001
            self._lost(exc)
            return {}
        return self._read(data, wanted)

    def _lost(self, exc: Exception) -> None:
        log.warning("reading signal: stored token states unreadable (%s)", exc)
        with self._lock:
            self._table = None
            self._checked = -1e9

    @staticmethod
    def _read(data: pa.Table, wanted: dict[str, str]) -> dict[str, np.ndarray]:
        found = {}
        for chunk_id, digest, tokens, blob in zip(
            data.column("chunk_id").to_pylist(),
            data.column("text_hash").to_pylist(),
            data.column("tokens").to_pylist(),
            data.column("states").to_pylist(),
            strict=True,
        ):
            if wanted.get(chunk_id) == digest:
                found[chunk_id] = decode_states(blob, tokens)
        return found


class TokenStates:
    """Token states of chunks, computed on first use and kept (least recently used dropped).

    One per embedding model in a process (`shared`): every engine on the same model reads
    the same chunks the same way, so `kb eval`'s several engines, the calibration's
    searches and the tests' engines compute each chunk once.
    """

    def __init__(self, embedder, max_chunks: int = MAX_CACHED_CHUNKS) -> None:
        self.embedder = embedder
        self.max_chunks = max_chunks
        # (chunk id, text hash) -> states: the same chunk id in two indexes (`kb eval`'s
        # several tables) is one entry only when its text is the same
        self._cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0  # chunks whose states this process computed with the model

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

    def of_chunk(self, row: dict, stored: StoredStates | None = None) -> np.ndarray:
        return self.of_chunks([row], stored)[0]

    def of_chunks(self, rows: Sequence[dict], stored: StoredStates | None = None) -> list[np.ndarray]:
        """The rows' states: kept ones, else the index's stored ones, else computed (old index)."""
        keys = [(row["chunk_id"], text_hash(chunk_text(row))) for row in rows]
        found: dict[tuple[str, str], np.ndarray] = {}
        with self._lock:
            for key in keys:
                states = self._cache.get(key)
                if states is not None:
                    self._cache.move_to_end(key)
                    found[key] = states
        missing = {key: row for key, row in zip(keys, rows, strict=True) if key not in found}
        if missing:
            new = self._fetch(missing, stored.lookup if stored is not None else None)
            found.update(new)
            self._keep(new)
        return [found[key] for key in keys]

    def _fetch(self, missing: dict, read: Callable | None) -> dict[tuple[str, str], np.ndarray]:
        """Stored states for the missing keys (`read`), the model's for the rest (one pass each)."""
        new: dict[tuple[str, str], np.ndarray] = {}
        if read is not None:
            loaded = read({chunk_id: digest for chunk_id, digest in missing})
            new.update({key: loaded[key[0]] for key in missing if key[0] in loaded})
        for key, row in missing.items():
            if key not in new:
                new[key] = self.embedder.token_states(chunk_text(row))[1].astype(np.float16)
                with self._lock:
                    self.computed += 1
        return new

    def _keep(self, states: dict[tuple[str, str], np.ndarray]) -> None:
        with self._lock:
            for key, value in states.items():
                self._cache[key] = value
                self._cache.move_to_end(key)
            while len(self._cache) > self.max_chunks:
                self._cache.popitem(last=False)

    def warm(self, rows: list[dict], stored: StoredStates | None = None) -> int:
        """Keep the states of `rows` (up to the cache's size), stored ones read in one scan.

        At start-up, so no customer's turn pays for a chunk's first pass: computed on
        first use, a burst of new questions queued behind those passes (overhead p99 3 s
        at 32 conversations in `bench.channels`). With stored states this only reads
        them (docs/benchmarks.md); for an index without, it computes them as before: one
        pass per chunk, the model's lock taken per pass, so a question arriving meanwhile
        waits for one pass at most (padded passes of several chunks were slower here:
        13.4 s against 6.6 s for the sample's 222 chunks). Returns how many are kept.
        """
        rows = rows[: self.max_chunks]
        keys = {(row["chunk_id"], text_hash(chunk_text(row))): row for row in rows}
        with self._lock:
            missing = {key: row for key, row in keys.items() if key not in self._cache}
        if missing:
            self._keep(self._fetch(missing, stored.every if stored is not None else None))
        return len(keys)


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
