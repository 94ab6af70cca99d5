"""Query latency on the sample knowledge base: embedding + fused search, per question.

Prints the shipped path next to a baseline measured in the same run, question by
question, so a busy machine slows both alike:

* baseline: `KnowledgeBase.search` as it was before the issue-3 latency work: eager
  PyTorch `embed_one`, then LanceDB's vector search and LanceDB's full-text search one
  after the other (`Retriever(..., memory_max_rows=0)`, `Embedder(trace=False, combine=False)`);
* shipped:  `KnowledgeBase.search` now: the full-text query starts on LanceDB's async API
  while the model embeds the question (ONNX Runtime, or a TorchScript trace without it),
  and vectors are searched in the in-memory copy of the table (see knowledge/snapshot.py);
* the parts of each (embedding alone, each search mode on an already embedded query),
  plus `SentenceTransformer.encode([question])` for reference.

Every question's ranked article ids are compared between the two paths and the count of
identical rankings is printed: the speed-up must not change a single result. The shipped
path mends misspelt words first (knowledge/spelling.py), which does change a few results
on purpose: it is timed beside the same path with the correction off
(`[shipped, spelling off]`), and the identical count compares the baseline with that one.

Usage: HF_HUB_OFFLINE=1 .venv-actions/bin/python bench/retrieval_latency.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from knowledge.config import SAMPLE_ARTICLES, RetrievalSettings  # noqa: E402
from knowledge.embedding import Embedder, default_embedder  # noqa: E402
from knowledge.evaluation import load_questions, state_writer  # noqa: E402
from knowledge.ingest import ingest_folder  # noqa: E402
from knowledge.retrieval import Retriever  # noqa: E402
from knowledge.store import ChunkStore  # noqa: E402


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return (time.perf_counter() - started) * 1000, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="passes over the labelled questions")
    parser.add_argument(
        "--concurrency", type=int, default=4, help="simultaneous questions for the second table (0: skip)"
    )
    args = parser.parse_args()
    embedder = default_embedder()
    eager = Embedder(trace=False, combine=False)
    questions = [q.text for q in load_questions()]
    with tempfile.TemporaryDirectory() as tmp:
        store = ChunkStore(str(Path(tmp) / "kb"), embedding_model=embedder.model_name)
        # with the chunks' token states, as `kb ingest` stores them (bench/stored_states.py)
        ingest_folder(SAMPLE_ARTICLES, store, embedder.embed, states=state_writer(embedder))
        chunks = store.count()
        shipped = Retriever(store, embedder, RetrievalSettings())
        unspelt = Retriever(store, embedder, RetrievalSettings(spelling=False))
        baseline = Retriever(store, eager, RetrievalSettings(), memory_max_rows=0)

        def search_baseline(q: str):
            store.refresh()  # what KnowledgeBase.search does before retrieval
            return baseline.rank(q, eager.embed_one(q), 5, "hybrid")

        def search_shipped(q: str):
            store.refresh()
            return shipped.search(q, limit=5)

        def search_unspelt(q: str):
            store.refresh()
            return unspelt.search(q, limit=5)

        for q in questions[:5]:  # warm-up: model, trace, tokenizer, table handles, FTS reader, copy
            search_baseline(q)
            search_shipped(q)
            search_unspelt(q)
            embedder.embed([q])
        times: dict[str, list[float]] = {
            k: []
            for k in (
                "embed: encode() [reference]",
                "embed: embed_one() eager [baseline]",
                f"embed: embed_one() {embedder.backend} [shipped]",
                "reading: question states alone [unused]",
                "search: vector, LanceDB [baseline]",
                "search: vector, in memory [shipped]",
                "search: full-text, sync API [baseline]",
                "search: full-text, async API [shipped]",
                "search: fused [baseline]",
                "search: fused [shipped]",
                "total: embed + fused [baseline]",
                "total: embed + fused [shipped]",
                "total: embed + fused [shipped, spelling off]",
            )
        }
        identical = mended = 0
        load_at_start = os.getloadavg()[0]
        for _ in range(args.rounds):
            for q in questions:
                t_encode, _ = timed(lambda q=q: embedder.embed([q])[0])
                t_eager, vector = timed(lambda q=q: eager.embed_one(q))
                t_traced, _ = timed(lambda q=q: embedder.embed_one(q))
                t_states, _ = timed(lambda q=q: embedder.token_states(q))
                parts = []
                for mode in ("vector", "fts", "hybrid"):
                    v = vector if mode != "fts" else None
                    parts.append(timed(lambda q=q, v=v, m=mode: baseline.rank(q, v, 5, m))[0])
                    parts.append(timed(lambda q=q, v=v, m=mode: shipped.rank(q, v, 5, m))[0])
                t_base, base_result = timed(lambda q=q: search_baseline(q))
                t_ship, ship_result = timed(lambda q=q: search_shipped(q))
                t_off, off_result = timed(lambda q=q: search_unspelt(q))
                identical += base_result.article_ids() == off_result.article_ids()
                mended += ship_result.searched != ship_result.query
                for key, value in zip(
                    times, (t_encode, t_eager, t_traced, t_states, *parts, t_base, t_ship, t_off), strict=True
                ):
                    times[key].append(value)
        crowd: dict[str, tuple[list[float], float]] = {"baseline": ([], 0.0), "shipped": ([], 0.0)}
        for _ in range(args.rounds if args.concurrency > 1 else 0):
            for name, fn in (("baseline", search_baseline), ("shipped", search_shipped)):
                latencies, seconds = under_concurrency(fn, questions, args.concurrency)
                crowd[name] = (crowd[name][0] + latencies, crowd[name][1] + seconds)
    print(
        f"sample KB: {chunks} chunks; {len(questions)} questions x {args.rounds} rounds; "
        f"{os.cpu_count()} CPUs; load average {load_at_start:.1f} at the start"
    )
    print(f"{'':42}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    for key, values in times.items():
        print(
            f"{key:46}{np.percentile(values, 50):>9.1f}{np.percentile(values, 95):>9.1f}"
            f"{statistics.fmean(values):>9.1f}"
        )
    total = len(questions) * args.rounds
    print(f"identical ranked article ids, shipped (spelling off) vs baseline: {identical}/{total}")
    print(f"questions the spelling correction mended: {mended}/{total}")
    if args.concurrency > 1:
        print(f"\n{args.concurrency} questions at a time (embed + fused search, as KnowledgeBase.search):")
        print(f"{'':42}{'p50 ms':>9}{'p95 ms':>9}{'q/s':>9}")
        for name, (values, seconds) in crowd.items():
            print(
                f"{'total [' + name + ']':42}{np.percentile(values, 50):>9.1f}"
                f"{np.percentile(values, 95):>9.1f}{len(values) / seconds:>9.1f}"
            )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def under_concurrency(fn, questions: list[str], workers: int) -> tuple[list[float], float]:
    """Per-question latency and wall time with `workers` questions in flight."""
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        latencies = [ms for ms, _ in pool.map(lambda q: timed(lambda: fn(q)), questions)]
    return latencies, time.perf_counter() - started


if __name__ == "__main__":
    main()
