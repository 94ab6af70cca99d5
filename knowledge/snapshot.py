"""The question hot path's read side: the chunk table copied into memory, full-text search in flight.

Decision (issue 3, "query embedding + search p50 <= 20 ms"): LanceDB remains the store of
record and its full-text index still ranks the lexical candidates, but a small table is
also held in memory and searched by brute force:

* Up to `MEMORY_MAX_ROWS` chunks, the vectors, the title vectors and the columns a
  passage shows are copied out of the table. Vector search is then a matrix product
  and an exact top-k. On the sample help centre (222 chunks) LanceDB's vector search
  spent about 10 ms planning the query and converting rows for work numpy does in about
  0.05 ms, and an exact search returns what LanceDB's flat search returned (a table this
  small has no ANN index). At the threshold, 20,000 chunks, the scan takes about 3 ms and
  30 MB plus the chunk texts; LanceDB took 31 ms flat and 10 ms with an IVF index at
  10,000 rows (README, "Benchmarks: Knowledge-base size").
* Above the threshold nothing is copied; retrieval asks LanceDB as before, so a large
  help centre keeps its ANN index and bounded memory.
* The copy is tied to a table version. Every search first moves to the latest version,
  as `ChunkStore.refresh` does, and a changed version reloads the copy, so an article
  ingested by another process is found by the next question without a restart.
* The full-text query goes through LanceDB's async API on one event-loop thread and
  selects only chunk ids and BM25 scores: one round trip instead of the sync builder's
  six, and no row conversion. It is started before the question is embedded and runs on
  the other core meanwhile (both LanceDB and PyTorch release the GIL while they work).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from knowledge.embedding import DIMENSION
from knowledge.store import IndexModelMismatch

log = logging.getLogger(__name__)

MEMORY_MAX_ROWS = 20_000
BLOCK_ROWS = 1024
PASSAGE_COLUMNS = ("chunk_id", "article_id", "title", "url", "section", "text", "page")

_loop: asyncio.AbstractEventLoop | None = None
_loop_lock = threading.Lock()


def _event_loop() -> asyncio.AbstractEventLoop:
    """One loop thread per process for every reader (LanceDB's async objects live on it)."""
    global _loop
    with _loop_lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="kb-reader", daemon=True).start()
        return _loop


@dataclass(frozen=True)
class Snapshot:
    """One table version in memory; rows are never changed once built."""

    version: int
    rows: list[dict]
    vectors: np.ndarray  # (rows, DIMENSION), L2-normalised like every stored vector
    title_vectors: list[np.ndarray | None]
    positions: dict[str, int]
    heading_vectors: list[np.ndarray | None] | None = None

    def nearest(self, vector: np.ndarray, limit: int) -> list[tuple[int, float]]:
        """Row positions and cosine similarities of the `limit` closest chunks, closest first."""
        if not self.rows or limit <= 0:
            return []
        vector = np.asarray(vector, dtype=np.float32)
        if vector.shape[-1] != self.vectors.shape[1]:
            raise IndexModelMismatch(
                f"the index holds {self.vectors.shape[1]}-dimension vectors but the question was "
                f"embedded with {vector.shape[-1]}: it was built with another embedding model "
                "(KB_EMBEDDING_MODEL); run `kb ingest` again"
            )
        # In small blocks: a product over more rows makes OpenBLAS fan out to all cores,
        # which on a busy 2-core machine waits on the other jobs. Measured at 20,000 rows,
        # load ~5, p50 / p90: one product 8.0 / 12.0 ms, 4096-row blocks 9.6 / 40.7 ms,
        # 1024-row blocks 2.9 / 3.3 ms.
        blocks = range(0, len(self.rows), BLOCK_ROWS)
        similarity = np.concatenate([self.vectors[start : start + BLOCK_ROWS] @ vector for start in blocks])
        limit = min(limit, len(self.rows))
        top = np.argpartition(-similarity, limit - 1)[:limit]
        top = top[np.argsort(-similarity[top], kind="stable")]
        return [(int(i), float(similarity[i])) for i in top]

    def row(self, position: int) -> dict:
        """A fresh row dict in the shape LanceDB returns, for retrieval to annotate."""
        row = dict(self.rows[position])
        row["vector"] = self.vectors[position]
        row["title_vector"] = self.title_vectors[position]
        row["heading_vector"] = self.heading_vectors[position] if self.heading_vectors else None
        return row


def _snapshot(version: int, table) -> Snapshot:
    """Build from an Arrow table of PASSAGE_COLUMNS + vector + title_vector (+ heading_vector)."""
    count = table.num_rows
    vector_type = table.schema.field("vector").type
    dimension = getattr(vector_type, "list_size", DIMENSION)  # the model's width, fixed per table
    vectors = np.zeros((count, dimension), dtype=np.float32)
    if count:
        flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        vectors = np.ascontiguousarray(flat.reshape(count, dimension), dtype=np.float32)
    rows = table.select(list(PASSAGE_COLUMNS)).to_pylist()
    by_article: dict[str, np.ndarray | None] = {}
    title_vectors: list[np.ndarray | None] = []
    for row, title in zip(rows, table.column("title_vector").to_pylist(), strict=True):
        # All chunks of an article carry the same title vector; keep one array per article.
        if row["article_id"] not in by_article:
            by_article[row["article_id"]] = None if title is None else np.asarray(title, dtype=np.float32)
        title_vectors.append(by_article[row["article_id"]])
    positions = {row["chunk_id"]: i for i, row in enumerate(rows)}
    headings: list[np.ndarray | None] | None = None
    if "heading_vector" in table.column_names:
        # Chunks of one section share a heading path: keep one array per distinct path.
        seen: dict[tuple[str, str], np.ndarray | None] = {}
        headings = []
        for row, vector in zip(rows, table.column("heading_vector").to_pylist(), strict=True):
            key = (row["article_id"], row["section"] or "")
            if key not in seen:
                seen[key] = None if vector is None else np.asarray(vector, dtype=np.float32)
            headings.append(seen[key])
    return Snapshot(version, rows, vectors, title_vectors, positions, headings)


class TableReader:
    """Reads one LanceDB table for retrieval: version check, full-text hits, the in-memory copy."""

    def __init__(self, uri: str, table: str, max_rows: int = MEMORY_MAX_ROWS) -> None:
        self.uri = uri
        self.table_name = table
        self.max_rows = max_rows
        self._table = None  # lancedb AsyncTable, opened on the loop thread
        self._snapshot: Snapshot | None = None
        self._too_large: int | None = None  # the version found above max_rows, if any
        self._load_lock = threading.Lock()

    def start(self, fts_text: str | None, limit: int) -> Future:
        """Move to the latest version and run the full-text query, in the background.

        The future gives `(version, hits)`, hits being `(chunk_id, bm25)` best first: None
        when `fts_text` is None, empty when full-text search fails (as `ChunkStore.text_search`).
        """
        return asyncio.run_coroutine_threadsafe(self._start(fts_text, limit), _event_loop())

    def snapshot(self, version: int) -> Snapshot | None:
        """The in-memory copy at `version` or later; None when the table is above the threshold."""
        current = self._snapshot
        if current is not None and current.version >= version:
            return current
        if self._too_large is not None and self._too_large >= version:
            return None
        with self._load_lock:
            current = self._snapshot
            if current is not None and current.version >= version:
                return current
            loaded = asyncio.run_coroutine_threadsafe(self._load(), _event_loop()).result()
            if loaded is None:
                self._too_large = version
                self._snapshot = None
                return None
            self._too_large = None
            self._snapshot = loaded
            return loaded

    def too_large(self) -> bool:
        """The table was above the threshold when last looked at (no copy is kept)."""
        return self._too_large is not None

    async def _open(self):
        if self._table is None:
            import lancedb

            db = await lancedb.connect_async(self.uri)
            self._table = await db.open_table(self.table_name)
        return self._table

    async def _start(self, fts_text: str | None, limit: int) -> tuple[int, list[tuple[str, float]] | None]:
        table = await self._open()
        try:
            await table.checkout_latest()
            version = await table.version()
        except Exception:
            self._table = None  # e.g. dropped and rebuilt by `kb ingest`: reopen next time
            raise
        if fts_text is None:
            return version, None
        try:
            found = await (
                table.query().nearest_to_text(fts_text).select(["chunk_id", "_score"]).limit(limit).to_arrow()
            )
        except Exception as exc:  # noqa: BLE001 - FTS is an aid; vector search still answers
            log.warning("full-text search failed (%s); using vector search alone", exc)
            return version, []
        ids = found.column("chunk_id").to_pylist()
        scores = found.column("_score").to_pylist()
        return version, list(zip(ids, scores, strict=True))

    async def _load(self) -> Snapshot | None:
        table = await self._open()
        version = await table.version()
        if await table.count_rows() > self.max_rows:
            return None
        columns = [*PASSAGE_COLUMNS, "vector", "title_vector"]
        if "heading_vector" in (await table.schema()).names:
            columns.append("heading_vector")
        return _snapshot(version, await table.query().select(columns).to_arrow())


__all__ = ["MEMORY_MAX_ROWS", "Snapshot", "TableReader"]
