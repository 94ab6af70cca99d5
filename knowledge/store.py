"""The LanceDB table that holds the chunks, their vectors and the full-text index.

Every write is a LanceDB version, so a reader (the action server) always sees a complete
index and an ingestion run cut short leaves the last good version in place. The URI may
be a local directory or object storage (`s3://...`), which is how replicas share one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pyarrow as pa

from knowledge.documents import Chunk
from knowledge.embedding import DIMENSION

log = logging.getLogger(__name__)

# Which model wrote the vectors, kept in the table's schema metadata (see `needs_rebuild`).
MODEL_KEY = b"embedding_model"


def schema(dimension: int = DIMENSION, model: str | None = None) -> pa.Schema:
    """The chunk table's columns for vectors of `dimension` (the embedding model's width)."""
    return pa.schema(_fields(dimension), metadata={MODEL_KEY: model.encode()} if model else None)


def _fields(dimension: int) -> list[pa.Field]:
    return [
        pa.field("chunk_id", pa.string(), nullable=False),
        pa.field("article_id", pa.string(), nullable=False),
        pa.field("title", pa.string()),
        pa.field("url", pa.string()),
        pa.field("section", pa.string()),
        pa.field("text", pa.string()),
        pa.field("search_text", pa.string()),
        pa.field("page", pa.int32()),
        pa.field("content_hash", pa.string()),
        pa.field("vector", pa.list_(pa.float32(), dimension)),
        # The article title embedded alone, repeated on each of its chunks: a question
        # that paraphrases a title is strong evidence for the whole article (see retrieval).
        pa.field("title_vector", pa.list_(pa.float32(), dimension)),
        # The chunk's heading path ("Title > Section") embedded alone: a question that
        # paraphrases a section heading points at that section (see retrieval).
        pa.field("heading_vector", pa.list_(pa.float32(), dimension)),
    ]


SCHEMA = schema()

FTS_COLUMN = "search_text"
CALIBRATION_SUFFIX = "__calibration"
CALIBRATION_SCHEMA = pa.schema(
    [pa.field("key", pa.string()), pa.field("value", pa.string()), pa.field("fingerprint", pa.string())]
)


class KnowledgeBaseMissing(RuntimeError):
    """No index at the configured URI: the bot says so instead of guessing."""


class IndexModelMismatch(KnowledgeBaseMissing):
    """The index was written by another embedding model: no usable index for this one."""


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def rows_for(
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    title_vectors: Mapping[str, np.ndarray] | None = None,
    heading_vectors: Mapping[str, np.ndarray] | None = None,
) -> pa.Table:
    """Rows for the table; `title_vectors` maps article id to its embedded title and
    `heading_vectors` a heading path (`Chunk.heading_path`) to its embedding."""
    title_vectors = title_vectors or {}
    heading_vectors = heading_vectors or {}
    vectors = np.asarray(vectors, dtype=np.float32)
    dimension = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else DIMENSION
    return pa.Table.from_pylist(
        [
            {
                "chunk_id": c.chunk_id,
                "article_id": c.article_id,
                "title": c.title,
                "url": c.url,
                "section": c.section,
                "text": c.text,
                "search_text": c.fts_text,
                "page": c.page,
                "content_hash": c.content_hash,
                "vector": vectors[i].tolist(),
                "title_vector": (
                    title_vectors[c.article_id].tolist() if c.article_id in title_vectors else None
                ),
                "heading_vector": (
                    heading_vectors[c.heading_path].tolist() if c.heading_path in heading_vectors else None
                ),
            }
            for i, c in enumerate(chunks)
        ],
        schema=schema(dimension),
    )


class ChunkStore:
    def __init__(self, uri: str, table: str = "chunks", embedding_model: str | None = None) -> None:
        """`embedding_model`: the model about to write (ingestion); None checks nothing."""
        import lancedb

        self.uri = uri
        self.embedding_model = embedding_model
        self.table_name = table
        self._db = lancedb.connect(uri)
        self._table = None
        self._stale = False

    # -- reading -----------------------------------------------------------------------
    def exists(self) -> bool:
        try:
            return self.table_name in self._table_names()
        except Exception:  # noqa: BLE001 - a missing directory is simply "no index"
            return False

    def _table_names(self) -> list[str]:
        if hasattr(self._db, "list_tables"):
            result = self._db.list_tables()
            names = getattr(result, "tables", result)
            return list(names)
        return list(self._db.table_names())

    @property
    def table(self):
        if self._table is None:
            if not self.exists():
                raise KnowledgeBaseMissing(
                    f"no knowledge base table {self.table_name!r} at {self.uri}; run `kb ingest`"
                )
            self._table = self._db.open_table(self.table_name)
            self._stale = False
        elif self._stale:
            self._stale = False
            try:
                self._table.checkout_latest()
            except Exception:  # noqa: BLE001 - reopen instead
                self._table = None
                return self.table
        return self._table

    def refresh(self) -> None:
        """Pick up versions written by another process (an ingestion run).

        Deferred to the next use of `table`: the search hot path reads through
        `knowledge.snapshot`, which checks the version itself, so most questions never
        pay for this check.
        """
        self._stale = True

    def needs_rebuild(self) -> bool:
        """A table written by an older version lacks columns retrieval now relies on."""
        if not self.exists():
            return False
        if set(SCHEMA.names) - set(self.table.schema.names) != set():
            return True
        # Vectors of two models are not comparable: another model re-embeds everything.
        return self.embedding_model is not None and self.stored_model() != self.embedding_model

    def stored_model(self) -> str:
        """The embedding model that wrote the table (tables from before the stamp: MiniLM-L6)."""
        from knowledge.embedding import DEFAULT_MODEL

        metadata = self.table.schema.metadata or {}
        return metadata.get(MODEL_KEY, DEFAULT_MODEL.encode()).decode()

    def dimension(self) -> int:
        return int(self.table.schema.field("vector").type.list_size)

    def drop(self) -> None:
        if self.exists():
            self._db.drop_table(self.table_name)
        try:
            if self.calibration_table in self._table_names():
                self._db.drop_table(self.calibration_table)
        except Exception:  # noqa: BLE001 - a missing directory has nothing to drop
            pass
        self._table = None

    def add_rows(self, rows: pa.Table) -> None:
        """Bulk load for a fresh table (benchmarks); ingestion uses `replace_article`."""
        self._ensure_table(rows).add(rows)

    def count(self) -> int:
        return self.table.count_rows() if self.exists() else 0

    def article_hashes(self) -> dict[str, str]:
        if not self.exists():
            return {}
        data = self.table.to_arrow().select(["article_id", "content_hash"]).to_pylist()
        return {row["article_id"]: row["content_hash"] for row in data}

    def vector_search(self, vector: np.ndarray, limit: int, where: str | None = None) -> list[dict]:
        query = self.table.search(vector, vector_column_name="vector").distance_type("cosine")
        if where:
            query = query.where(where, prefilter=True)
        return query.limit(limit).to_list()

    def text_search(self, text: str, limit: int) -> list[dict]:
        try:
            return self.table.search(text, query_type="fts").limit(limit).to_list()
        except Exception as exc:  # noqa: BLE001 - FTS is an aid; vector search still answers
            log.warning("full-text search failed (%s); using vector search alone", exc)
            return []

    def headings(self) -> list[dict]:
        """Article id, title and section of every chunk (what calibration makes questions from)."""
        if not self.exists():
            return []
        return self.table.to_arrow().select(["article_id", "title", "section"]).to_pylist()

    # -- the calibration, kept beside the chunks ---------------------------------------
    @property
    def calibration_table(self) -> str:
        return f"{self.table_name}{CALIBRATION_SUFFIX}"

    def load_calibration(self) -> str | None:
        """The calibration JSON written for this index by `kb calibrate`, if any.

        It lives in a one-row LanceDB table next to the chunks, so it goes wherever the
        index goes (a local folder or `s3://...`) with no second storage client.
        """
        try:
            if self.calibration_table not in self._table_names():
                return None
            rows = self._db.open_table(self.calibration_table).to_arrow().to_pylist()
        except Exception as exc:  # noqa: BLE001 - the default calibration still decides
            log.warning("could not read the index's calibration (%s); using the default", exc)
            return None
        rows = [r for r in rows if r.get("key") == "calibration"]
        return rows[-1]["value"] if rows else None

    def save_calibration(self, text: str, fingerprint: str = "") -> None:
        data = pa.table(
            {"key": ["calibration"], "value": [text], "fingerprint": [fingerprint]},
            schema=CALIBRATION_SCHEMA,
        )
        self._db.create_table(self.calibration_table, data, mode="overwrite")

    def calibration_fingerprint(self) -> str | None:
        try:
            if self.calibration_table not in self._table_names():
                return None
            rows = self._db.open_table(self.calibration_table).to_arrow().to_pylist()
        except Exception:  # noqa: BLE001
            return None
        return rows[-1].get("fingerprint") if rows else None

    def content_fingerprint(self) -> str:
        """A hash of every article's content hash: changes whenever any article does."""
        import hashlib

        items = sorted(self.article_hashes().items())
        return hashlib.sha1(repr(items).encode()).hexdigest()[:16]

    # -- writing -----------------------------------------------------------------------
    def _ensure_table(self, first_rows: pa.Table):
        if not self.exists():
            dimension = first_rows.schema.field("vector").type.list_size
            self._table = self._db.create_table(
                self.table_name, schema=schema(dimension, self.embedding_model)
            )
        return self.table

    def replace_article(self, article_id: str, rows: pa.Table) -> None:
        """Upsert one article's chunks and delete its chunks that are gone, in one version."""
        table = self._ensure_table(rows)
        (
            table.merge_insert("chunk_id")
            .when_matched_update_all()
            .when_not_matched_insert_all()
            .when_not_matched_by_source_delete(f"article_id = {_quote(article_id)}")
            .execute(rows)
        )

    def delete_articles(self, article_ids: Iterable[str]) -> None:
        ids = list(article_ids)
        if not ids or not self.exists():
            return
        self.table.delete("article_id IN (" + ", ".join(_quote(i) for i in ids) + ")")

    def finish_writes(self) -> None:
        """Rebuild the full-text index and compact, so searches see every change."""
        if not self.exists() or self.table.count_rows() == 0:
            return
        self.table.create_fts_index(FTS_COLUMN, replace=True)
        try:
            self.table.optimize()
        except Exception as exc:  # noqa: BLE001 - compaction is an optimisation only
            log.warning("optimize failed: %s", exc)
