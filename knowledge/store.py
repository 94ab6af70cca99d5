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
# The chunks' token states for the reading signal (`knowledge.reading`), computed once by
# `kb ingest` and kept in a table beside the chunks, like the calibration: they go wherever
# the index goes (a folder or `s3://...`), every replica and every restart reads them
# instead of running the model over each chunk, and the chunk table (which every search
# and the in-memory copy scan) stays as lean as before. The schema metadata says which
# model wrote them and in what form; states of another model or form are never read.
STATES_SUFFIX = "__states"
STATES_FORMAT_KEY = b"token_states_format"
STATES_FORMAT = "float16-le-v1"
STATES_DIMENSION_KEY = b"token_states_dimension"
STATES_FIELDS = [
    pa.field("chunk_id", pa.string(), nullable=False),
    pa.field("article_id", pa.string(), nullable=False),
    # sha1 of the text the states were computed from (`knowledge.reading.chunk_text`):
    # states whose chunk has changed since are not used
    pa.field("text_hash", pa.string()),
    pa.field("tokens", pa.int32()),
    # tokens x dimension unit-length token states, float16 little-endian, row by row
    pa.field("states", pa.binary()),
]


def states_schema(model: str, dimension: int) -> pa.Schema:
    return pa.schema(
        STATES_FIELDS,
        metadata={
            MODEL_KEY: model.encode(),
            STATES_FORMAT_KEY: STATES_FORMAT.encode(),
            STATES_DIMENSION_KEY: str(dimension).encode(),
        },
    )


def states_stamp(schema: pa.Schema) -> tuple[str, str, int] | None:
    """(model, format, dimension) from a token-state table's schema; None when unstamped."""
    metadata = schema.metadata or {}
    try:
        return (
            metadata[MODEL_KEY].decode(),
            metadata[STATES_FORMAT_KEY].decode(),
            int(metadata[STATES_DIMENSION_KEY]),
        )
    except (KeyError, ValueError):
        return None


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
        for side in (self.calibration_table, self.states_table):
            try:
                if side in self._table_names():
                    self._db.drop_table(side)
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

    # -- the chunks' token states, kept beside the chunks ------------------------------
    @property
    def states_table(self) -> str:
        return f"{self.table_name}{STATES_SUFFIX}"

    def open_states(self):
        """The token-state table at its latest version, or None when the index has none."""
        try:
            if self.states_table not in self._table_names():
                return None
            return self._db.open_table(self.states_table)
        except Exception:  # noqa: BLE001 - no states: the reading signal computes them
            return None

    def stored_states_stamp(self, table=None) -> tuple[str, str, int] | None:
        """(model, format, dimension) the stored states were written with; None if there are none."""
        table = table if table is not None else self.open_states()
        return None if table is None else states_stamp(table.schema)

    def state_hashes(self) -> dict[str, str]:
        """chunk id -> hash of the text its stored states were computed from."""
        table = self.open_states()
        if table is None:
            return {}
        data = table.to_arrow().select(["chunk_id", "text_hash"]).to_pylist()
        return {row["chunk_id"]: row["text_hash"] for row in data}

    def replace_states(self, rows: pa.Table) -> None:
        """Upsert chunks' states (`knowledge.ingest.store_states`).

        Written with the schema's stamp (`states_schema`); a table stamped by another model
        or form is replaced, never mixed (the caller writes every chunk's states then).
        """
        names = self._table_names()
        if self.states_table in names:
            table = self._db.open_table(self.states_table)
            if self.stored_states_stamp(table) != states_stamp(rows.schema):
                table = self._db.create_table(self.states_table, schema=rows.schema, mode="overwrite")
        else:
            table = self._db.create_table(self.states_table, schema=rows.schema)
        table.merge_insert("chunk_id").when_matched_update_all().when_not_matched_insert_all().execute(rows)

    def delete_states(self, article_ids: Iterable[str]) -> None:
        ids = list(article_ids)
        table = self.open_states() if ids else None
        if table is not None:
            table.delete("article_id IN (" + ", ".join(_quote(i) for i in ids) + ")")

    def delete_state_chunks(self, chunk_ids: Sequence[str]) -> None:
        """States of chunks that are gone (an article now cut into fewer chunks)."""
        table = self.open_states() if chunk_ids else None
        for start in range(0, len(chunk_ids), 500):
            part = chunk_ids[start : start + 500]
            table.delete("chunk_id IN (" + ", ".join(_quote(i) for i in part) + ")")

    def read_states(self, table, chunk_ids: Sequence[str]) -> pa.Table:
        """The stored rows of `chunk_ids` (a keyed lookup: the scalar index on chunk_id)."""
        where = "chunk_id IN (" + ", ".join(_quote(i) for i in chunk_ids) + ")"
        return (
            table.search()
            .where(where, prefilter=True)
            .select(["chunk_id", "text_hash", "tokens", "states"])
            .limit(len(chunk_ids))
            .to_arrow()
        )

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
        self.delete_states(ids)

    def finish_writes(self) -> None:
        """Rebuild the full-text index and compact, so searches see every change."""
        if not self.exists() or self.table.count_rows() == 0:
            return
        self.table.create_fts_index(FTS_COLUMN, replace=True)
        try:
            self.table.optimize()
        except Exception as exc:  # noqa: BLE001 - compaction is an optimisation only
            log.warning("optimize failed: %s", exc)
        self.finish_state_writes()

    def finish_state_writes(self) -> None:
        """Index the token states by chunk id and compact them."""
        states = self.open_states()
        if states is not None and states.count_rows():
            try:
                # A lookup of a top article's chunks reads those rows only (see `read_states`).
                states.create_scalar_index("chunk_id", replace=True)
                states.optimize()
            except Exception as exc:  # noqa: BLE001 - a scan still finds the rows
                log.warning("indexing the token states failed: %s", exc)
