"""Incremental ingestion of a folder of articles into the chunk store.

An article is re-embedded only when its bytes changed (content hash), so re-running on an
unchanged folder writes nothing, and a support team can ingest after every edit.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from knowledge.chunking import chunk_article
from knowledge.documents import Article, Chunk
from knowledge.loaders import UnreadableArticle, find_article_files, load_article
from knowledge.reading import StateWriter, chunk_text, text_hash
from knowledge.store import STATES_FORMAT, ChunkStore, rows_for

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks_written: int = 0
    states_written: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    def summary(self) -> str:
        return (
            f"articles: {len(self.added)} added, {len(self.updated)} updated, "
            f"{len(self.deleted)} deleted, {len(self.unchanged)} unchanged, "
            f"{len(self.failed)} failed; {self.chunks_written} chunks written"
            + (f", {self.states_written} chunks' token states stored" if self.states_written else "")
        )


def embed_rows(article: Article, chunks: list[Chunk], embed: Callable[[list[str]], object]) -> pa.Table:
    """One embedding call for an article's chunks, its title and its distinct heading paths."""
    paths = list(dict.fromkeys(c.heading_path for c in chunks))
    vectors = embed([c.search_text for c in chunks] + [article.title] + paths)
    n = len(chunks)
    headings = {path: vectors[n + 1 + i] for i, path in enumerate(paths)}
    return rows_for(chunks, vectors[:n], {article.article_id: vectors[n]}, headings)


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="article", desc="ingesting", file=sys.stderr)


def ingest_folder(
    root: Path,
    store: ChunkStore,
    embed: Callable[[list[str]], object],
    show_progress: bool = False,
    states: StateWriter | None = None,
) -> IngestReport:
    """`states`: store the chunks' token states for the reading signal (`store_states`)."""
    root = root.resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"articles folder not found: {root}")
    report = IngestReport()
    if store.needs_rebuild():
        log.warning("index at %s was written by an older version or another model; rebuilding it", store.uri)
        store.drop()
    known = store.article_hashes()
    seen: set[str] = set()
    files = find_article_files(root)
    bar = _progress(len(files), show_progress)
    for path in files:
        try:
            article: Article = load_article(path, root)
        except UnreadableArticle as exc:
            report.failed.append((str(path), str(exc)))
            log.warning("skipped %s: %s", path, exc)
            # Keep what was indexed for it before: a broken edit must not erase an answer.
            seen.add(path.relative_to(root).with_suffix("").as_posix())
            if bar:
                bar.update(1)
            continue
        if article.article_id in seen:
            report.failed.append((str(path), f"duplicate article id {article.article_id!r}"))
            if bar:
                bar.update(1)
            continue
        seen.add(article.article_id)
        previous = known.get(article.article_id)
        if previous == article.content_hash:
            report.unchanged.append(article.article_id)
        else:
            chunks = chunk_article(article)
            rows = embed_rows(article, chunks, embed)
            store.replace_article(article.article_id, rows)
            report.chunks_written += len(chunks)
            (report.updated if previous else report.added).append(article.article_id)
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    gone = sorted(set(known) - seen)
    if gone:
        store.delete_articles(gone)
        report.deleted.extend(gone)
    if states is not None:
        report.states_written = store_states(store, states, show_progress, upgrade=bool(known))
    if report.changed:
        store.finish_writes()
    elif report.states_written:
        store.finish_state_writes()
    return report


# Chunks whose states go into one write (about 64 KB each, float16).
STATES_BATCH = 256


def store_states(
    store: ChunkStore, writer: StateWriter, show_progress: bool = False, upgrade: bool = True
) -> int:
    """Compute and store the token states of every chunk that has none (or stale ones).

    After the chunks are written, over the whole index: the chunks of changed articles,
    and those of an index written before ingestion stored states (a plain `kb ingest`
    upgrades it with this pass alone, no re-embedding), or of a run cut short between
    the two writes. States written by another model or in another form are replaced.
    `upgrade` False: the index was empty before this run (nothing to say about old states).
    Returns how many chunks' states were written.
    """
    if not store.exists():
        return 0
    rows = store.table.to_arrow().select(["chunk_id", "article_id", "title", "section", "text"]).to_pylist()
    stamp = store.stored_states_stamp()
    same = stamp is not None and stamp[:2] == (writer.model, STATES_FORMAT)
    stored = store.state_hashes() if same else {}
    todo = [row for row in rows if stored.get(row["chunk_id"]) != text_hash(chunk_text(row))]
    gone = set(stored) - {row["chunk_id"] for row in rows}
    if gone:
        store.delete_state_chunks(sorted(gone))
    if not todo:
        return 0
    if upgrade and stamp is None:
        log.warning(
            "index at %s has no stored token states (written before ingestion stored them): "
            "computing them for its %d chunks",
            store.uri,
            len(todo),
        )
    elif upgrade and not same:
        log.warning("index at %s holds token states of %s: replacing them", store.uri, stamp[0])
    else:
        log.info("computing the token states of %d chunks", len(todo))
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="chunk", desc="token states", file=sys.stderr)
    for start in range(0, len(todo), STATES_BATCH):
        batch = todo[start : start + STATES_BATCH]
        store.replace_states(writer.table(batch))
        if bar:
            bar.update(len(batch))
    if bar:
        bar.close()
    return len(todo)
