"""Query latency on the sample knowledge base: embedding + fused search, per question.

Prints the shipped path next to a baseline measured in the same run, so a busy machine
slows both alike:

* baseline embed: `SentenceTransformer.encode([question])` (what `Embedder.embed` does);
* shipped embed:  `Embedder.embed_one` (the transformer called directly, see embedding.py);
* search:         `Retriever.rank` in each mode on an open table (vector, full-text, fused).

Usage: HF_HUB_OFFLINE=1 .venv-actions/bin/python bench/retrieval_latency.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from knowledge.config import SAMPLE_ARTICLES, RetrievalSettings  # noqa: E402
from knowledge.embedding import default_embedder  # noqa: E402
from knowledge.evaluation import load_questions  # noqa: E402
from knowledge.ingest import ingest_folder  # noqa: E402
from knowledge.retrieval import Retriever  # noqa: E402
from knowledge.store import ChunkStore  # noqa: E402


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return (time.perf_counter() - started) * 1000, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="passes over the 107 questions")
    args = parser.parse_args()
    embedder = default_embedder()
    questions = [q.text for q in load_questions()]
    with tempfile.TemporaryDirectory() as tmp:
        store = ChunkStore(str(Path(tmp) / "kb"))
        ingest_folder(SAMPLE_ARTICLES, store, embedder.embed)
        chunks = store.count()
        retriever = Retriever(store, embedder, RetrievalSettings())
        for q in questions[:5]:  # warm-up: model, tokenizer, table handle, FTS reader
            retriever.rank(q, embedder.embed_one(q), 5, "hybrid")
            embedder.embed([q])
        times: dict[str, list[float]] = {
            k: []
            for k in (
                "embed: encode() [baseline]",
                "embed: embed_one() [shipped]",
                "search: vector",
                "search: full-text",
                "search: fused",
                "total: encode() + fused [baseline]",
                "total: embed_one() + fused [shipped]",
            )
        }
        for _ in range(args.rounds):
            for q in questions:
                t_base, _ = timed(lambda q=q: embedder.embed([q])[0])
                t_fast, vector = timed(lambda q=q: embedder.embed_one(q))
                t_vec, _ = timed(lambda q=q, v=vector: retriever.rank(q, v, 5, "vector"))
                t_fts, _ = timed(lambda q=q: retriever.rank(q, None, 5, "fts"))
                t_fused, _ = timed(lambda q=q, v=vector: retriever.rank(q, v, 5, "hybrid"))
                for key, value in zip(
                    times,
                    (t_base, t_fast, t_vec, t_fts, t_fused, t_base + t_fused, t_fast + t_fused),
                    strict=True,
                ):
                    times[key].append(value)
    print(
        f"sample KB: {chunks} chunks; {len(questions)} questions x {args.rounds} rounds; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'':40}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}")
    for key, values in times.items():
        print(
            f"{key:40}{np.percentile(values, 50):>9.1f}{np.percentile(values, 95):>9.1f}"
            f"{statistics.fmean(values):>9.1f}"
        )


if __name__ == "__main__":
    main()
