"""Chunk token states stored at ingestion vs computed by the action server, side by side.

The reading signal (knowledge/reading.py) matches the question against the top article's
chunks in the model's token states. Before, the action server ran the model over every
chunk at start-up (an index the 2,048-chunk cache holds) or on a customer's turn (a larger
one); now `kb ingest` stores them beside the chunks (`<table>__states`). Both paths are
measured in the same run, on the same index, with the same questions:

* ingestion: the sample help centre ingested without states, then the states pass alone
  (what `kb ingest` adds; also what upgrading an old index costs), and the index's size
  on disk with and without them (float16; per-token-scaled int8 estimated);
* start-up: engine load + `warm_reading`, until the action server would report ready;
* per question: the reading signal's own cost (chunk states + MaxSim), warmed as the
  server is after start-up, and cold (a chunk not in memory: computed vs looked up);
* the same for a large index: the sample's chunks copied `--copies` times under other
  ids (above the cache's 2,048 chunks, so today's path computes on customers' turns);
  and what loading every stored state at start-up would cost instead of keyed lookups.

Every question's reading value and decision are compared between the two paths: stored
states must change nothing. Indexes are kept under --work and reused with --reuse.

Usage: HF_HUB_OFFLINE=1 .venv-actions/bin/python -m bench.stored_states [--copies 20] [--questions 80]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

os.environ.setdefault("RUST_LOG", "error")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.config import SAMPLE_ARTICLES, RetrievalSettings, Settings  # noqa: E402
from knowledge.embedding import default_embedder  # noqa: E402
from knowledge.evaluation import load_questions, state_writer  # noqa: E402
from knowledge.ingest import ingest_folder, store_states  # noqa: E402
from knowledge.reading import TokenStates, weakest_match  # noqa: E402
from knowledge.service import KnowledgeBase  # noqa: E402
from knowledge.store import ChunkStore  # noqa: E402


def size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6 if path.exists() else 0.0


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


class Timed:
    """Wraps `Retriever._reading` to time the reading signal alone, per search."""

    def __init__(self, retriever) -> None:
        self.inner = retriever._reading
        self.times: list[float] = []
        retriever._reading = self

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        value = self.inner(*args, **kwargs)
        self.times.append((time.perf_counter() - started) * 1000)
        return value


def engine(uri: str, embedder) -> KnowledgeBase:
    """A fresh engine with its own empty state cache, as in a new action-server process."""
    kb = KnowledgeBase(Settings(retrieval=RetrievalSettings(uri=uri)), embedder=embedder)
    kb.retriever.token_states = TokenStates(embedder)
    return kb


def start_up(uri: str, embedder) -> tuple[KnowledgeBase, float, int]:
    started = time.perf_counter()
    kb = engine(uri, embedder)
    kept = kb.warm_reading()
    return kb, time.perf_counter() - started, kept


def per_question(kb: KnowledgeBase, questions: list[str]) -> tuple[list[float], list[tuple[float, str]]]:
    timer = Timed(kb.retriever)
    seen = []
    for question in questions:
        result = kb.retriever.search(question)
        seen.append((result.signals.reading, kb.outcome(result)))
    return timer.times, seen


def row(label: str, today: str, stored: str) -> None:
    print(f"{label:<58}{today:>22}{stored:>22}")


def compare(name: str, plain: str, stored_uri: str, embedder, questions: list[str]) -> None:
    """Start-up and per-question reading cost: the same chunks without states (today's path,
    an index from before) and with them."""
    print(f"\n{name}: {ChunkStore(stored_uri).count()} chunks, {len(questions)} questions")
    row("", "today (computed)", "stored states")
    results = {}
    for stored, uri in ((False, plain), (True, stored_uri)):
        kb, seconds, kept = start_up(uri, embedder)
        warm, seen = per_question(kb, questions)
        cold_kb = engine(uri, embedder)  # no warm-up: every chunk's first use
        cold, _ = per_question(cold_kb, questions)
        results[stored] = (seconds, kept, warm, cold, seen, kb.retriever.token_states.computed)
        results[stored] += (cold_kb.retriever.token_states.computed,)
    a, b = results[False], results[True]
    row(
        "start-up: engine + warm-up until ready (s)", f"{a[0]:.2f} ({a[1]} kept)", f"{b[0]:.2f} ({b[1]} kept)"
    )
    row("chunk passes of the model at start-up + questions", f"{a[5]}", f"{b[5]}")
    row(
        "reading per question, after start-up p50 / p95 (ms)",
        f"{pct(a[2], 50):.2f} / {pct(a[2], 95):.2f}",
        f"{pct(b[2], 50):.2f} / {pct(b[2], 95):.2f}",
    )
    row(
        "reading per question, cold (first use) p50 / p95 / max",
        f"{pct(a[3], 50):.1f} / {pct(a[3], 95):.1f} / {max(a[3]):.0f}",
        f"{pct(b[3], 50):.1f} / {pct(b[3], 95):.1f} / {max(b[3]):.0f}",
    )
    row("chunk passes of the model on the cold questions", f"{a[6]}", f"{b[6]}")
    same_value = sum(x[0] == y[0] for x, y in zip(a[4], b[4], strict=True))
    same_outcome = sum(x[1] == y[1] for x, y in zip(a[4], b[4], strict=True))
    n = len(questions)
    print(f"identical reading values {same_value}/{n}, identical decisions {same_outcome}/{n}")


def replicate(source: str, target: str, copies: int, with_states: bool) -> None:
    """The sample's chunks `copies` times under other chunk and article ids (and their states)."""
    src = ChunkStore(source)
    chunks = src.table.to_arrow()
    states = src.open_states().to_arrow() if with_states else None
    store = ChunkStore(target)
    store.drop()
    for k in range(copies):
        store.add_rows(_renamed(chunks, f"~{k}"))
        if states is not None:
            store.replace_states(_renamed(states, f"~{k}").replace_schema_metadata(states.schema.metadata))
    store.finish_writes()


def _renamed(table: pa.Table, suffix: str) -> pa.Table:
    for name in ("chunk_id", "article_id"):
        column = pa.compute.binary_join_element_wise(table[name], pa.scalar(suffix), "")
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", default="/tmp/stored-states-bench", help="where the indexes are kept")
    parser.add_argument("--reuse", action="store_true", help="reuse the indexes under --work (no ingestion)")
    parser.add_argument("--copies", type=int, default=20, help="copies of the sample for the large index")
    parser.add_argument("--questions", type=int, default=80, help="labelled questions asked per path")
    args = parser.parse_args()
    work = Path(args.work)
    started = time.perf_counter()
    embedder = default_embedder()
    embedder.embed_one("warm up")
    print(f"model load (both paths): {time.perf_counter() - started:.1f} s; backend {embedder.backend}")
    plain, with_states = work / "sample-plain", work / "sample-states"
    if not args.reuse or not (with_states / "chunks__states.lance").exists():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        started = time.perf_counter()
        ingest_folder(
            SAMPLE_ARTICLES, ChunkStore(str(plain), embedding_model=embedder.model_name), embedder.embed
        )
        ingest_plain = time.perf_counter() - started
        shutil.copytree(plain, with_states)
        store = ChunkStore(str(with_states), embedding_model=embedder.model_name)
        started = time.perf_counter()
        written = store_states(store, state_writer(embedder), upgrade=False)
        store.finish_writes()
        states_pass = time.perf_counter() - started
        print(
            f"\ningest the sample without states: {ingest_plain:.1f} s; the states pass "
            f"({written} chunks): {states_pass:.1f} s ({1000 * states_pass / written:.1f} ms a chunk), "
            f"+{100 * states_pass / ingest_plain:.0f} % ingestion time"
        )
    store = ChunkStore(str(with_states))
    table = store.open_states().to_arrow()
    tokens = table.column("tokens").to_numpy()
    blob = np.array([len(b) for b in table.column("states").to_pylist()])
    dim = store.stored_states_stamp()[2]
    int8 = tokens * (dim + 4)  # one byte per value plus a float32 scale per token
    print(
        f"index size on disk: chunks {size_mb(plain / 'chunks.lance'):.1f} MB; token states "
        f"{size_mb(with_states / 'chunks__states.lance'):.1f} MB float16 "
        f"({blob.sum() / 1e6:.1f} MB of states, "
        f"{blob.mean() / 1e3:.0f} KB a chunk, {np.median(tokens):.0f} tokens p50, {tokens.max()} max); "
        f"int8 with a scale per token would be {int8.sum() / 1e6:.1f} MB"
    )
    questions = [q.text for q in load_questions()][: args.questions]
    compare("sample help centre", str(plain), str(with_states), embedder, questions)
    int8_drift(str(with_states), embedder, questions)

    large, large_plain = work / f"large-{args.copies}", work / f"large-{args.copies}-plain"
    if not args.reuse or not (large / "chunks__states.lance").exists() or not large_plain.exists():
        started = time.perf_counter()
        replicate(str(with_states), str(large), args.copies, with_states=True)
        replicate(str(with_states), str(large_plain), args.copies, with_states=False)
        seconds = time.perf_counter() - started
        print(f"\nlarge indexes written in {seconds:.1f} s (states copied, not recomputed)")
    name = f"large index ({args.copies} copies of the sample)"
    compare(name, str(large_plain), str(large), embedder, questions)
    every_at_start(str(large), embedder)


def every_at_start(uri: str, embedder) -> None:
    """What reading every stored state at start-up would cost, against a keyed lookup per miss."""
    import resource

    kb = engine(uri, embedder)
    stored = kb.retriever.stored_states
    rows = ChunkStore(uri).table.to_arrow().select(["chunk_id", "title", "section", "text"]).to_pylist()
    from knowledge.reading import chunk_text, text_hash

    wanted = {r["chunk_id"]: text_hash(chunk_text(r)) for r in rows}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    every = stored.every(wanted)
    seconds = time.perf_counter() - started
    held = sum(v.nbytes for v in every.values()) / 1e6
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1e3
    lookups = []
    ids = list(wanted)
    for i in range(0, min(len(ids), 200), 4):  # a top article's few chunks at a time
        part = {k: wanted[k] for k in ids[i * 7 % len(ids) :][:4]}
        t = time.perf_counter()
        stored.lookup(part)
        lookups.append((time.perf_counter() - t) * 1000)
    print(
        f"loading all {len(every)} stored states at start-up: {seconds:.2f} s, {held:.0f} MB held "
        f"(peak RSS +{grew:.0f} MB); a keyed lookup of 4 chunks instead: p50 {pct(lookups, 50):.1f} ms, "
        f"p95 {pct(lookups, 95):.1f} ms"
    )


def int8_drift(uri: str, embedder, questions: list[str]) -> None:
    """How far per-token-scaled int8 would move the reading values (not used: float16 is exact)."""
    from knowledge.retrieval import _content_states

    kb = engine(uri, embedder)
    kb.warm_reading()
    drift = []
    for question in questions:
        result = kb.retriever.search(question)
        top = [p for p in result.passages if p.article_id == result.passages[0].article_id]
        rows = [{"chunk_id": p.chunk_id, "title": p.title, "section": p.section, "text": p.text} for p in top]
        chunks = kb.retriever.token_states.of_chunks(rows, kb.retriever.stored_states)
        quantised = []
        for states in chunks:
            wide = states.astype(np.float32)
            scale = np.abs(wide).max(axis=1, keepdims=True) / 127
            quantised.append((np.round(wide / np.maximum(scale, 1e-12)) * scale).astype(np.float32))
        _, pieces, qstates = embedder.embed_one_with_states(question)
        q = _content_states(pieces, qstates)
        drift.append(abs(weakest_match(q, chunks) - weakest_match(q, quantised)))
    print(
        f"int8 (scale per token) instead of float16: reading value moves p50 {pct(drift, 50):.4f}, "
        f"max {max(drift):.4f} (float16: 0, the same states as computed)"
    )


if __name__ == "__main__":
    main()
