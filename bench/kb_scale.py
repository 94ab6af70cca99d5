"""How the knowledge base's cost grows with its size: retrieval latency, index size, ingestion.

    .venv-actions/bin/python -m bench.kb_scale                # 1k, 10k, 100k, 1M chunks
    .venv-actions/bin/python -m bench.kb_scale --sizes 1000 10000 --queries 100

For each size it writes synthetic chunks (384-dim unit vectors clustered around topics,
the way real sentence embeddings are, plus ~80 words of text) to a fresh LanceDB table,
then times the same top-5 cosine queries twice in the same run: brute force (the
baseline: what the bot does today, no vector index) and with an IVF_PQ index (refined by
exact re-ranking of the candidates). Recall@5 of the index against brute force says
what the speed costs in answer quality. Ingestion throughput is measured separately on
the real sample articles with the real embedding model (load, chunk, embed, write, index).
Results go to stdout and to bench/results/kb_scale.json. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

os.environ.setdefault("RUST_LOG", "error")  # lance warns once per query about column projection

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DIM = 384
TOPICS = 2000
BATCH = 50_000
WORDS = (
    "account order shipping refund return thermostat wifi battery display schedule heating cooling "
    "password email billing invoice plan subscription warranty install wiring sensor firmware update "
    "app pairing reset router network signal temperature humidity filter fan mode eco away delivery "
    "tracking package carrier customs address payment card bank charge cancel upgrade downgrade trial"
).split()


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


class Corpus:
    """Vectors near one of many topic centres: nearest neighbours are meaningful, as in
    real embeddings, instead of the near-equal distances of uniform random vectors."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        centres = self.rng.standard_normal((TOPICS, DIM)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)

    def vectors(self, n: int, rng: np.random.Generator) -> np.ndarray:
        topics = rng.integers(0, TOPICS, n)
        noise = rng.standard_normal((n, DIM)).astype(np.float32) * 0.04
        v = self.centres[topics] + noise
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def batches(self, n: int):
        rng = np.random.default_rng(n)
        words = np.asarray(WORDS)
        # Joining 80 words per row costs more than everything else at 1M rows; rows reuse a
        # pool of texts (the vector search never reads them, only their bytes count).
        pool = np.asarray(
            [" ".join(words[row]) for row in rng.integers(0, len(words), (4096, 80))], dtype=object
        )
        for start in range(0, n, BATCH):
            count = min(BATCH, n - start)
            vectors = self.vectors(count, rng)
            texts = pool[rng.integers(0, len(pool), count)]
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array([f"chunk-{start + i}" for i in range(count)]),
                    pa.array(texts, type=pa.string()),
                    pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), DIM),
                ],
                names=["chunk_id", "text", "vector"],
            )


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def index_size(table_dir: Path) -> int:
    indices = table_dir / "_indices"
    return dir_size(indices) if indices.exists() else 0


def time_queries(
    table, queries: np.ndarray, indexed: bool, nprobes: int, refine: int
) -> tuple[list[float], list]:
    latencies, results = [], []
    for q in queries:
        started = time.perf_counter()
        query = table.search(q, vector_column_name="vector").distance_type("cosine").limit(5)
        if indexed:
            query = query.nprobes(nprobes).refine_factor(refine)
        else:
            query = query.bypass_vector_index()
        rows = query.select(["chunk_id", "_distance"]).to_list()
        latencies.append((time.perf_counter() - started) * 1000)
        results.append([r["chunk_id"] for r in rows])
    return latencies, results


def bench_size(db, corpus: Corpus, n: int, n_queries: int, workdir: Path, index_type: str) -> dict:
    say(f"\n== {n:,} chunks")
    started = time.perf_counter()
    schema = pa.schema(
        [("chunk_id", pa.string()), ("text", pa.string()), ("vector", pa.list_(pa.float32(), DIM))]
    )
    table = db.create_table(f"chunks_{n}", schema=schema)
    import warnings

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    written = 0
    for batch in corpus.batches(n):
        table.add(pa.Table.from_batches([batch]))
        written += batch.num_rows
        say(f"   wrote {written:,}/{n:,} rows ({time.perf_counter() - started:.0f} s)")
    write_s = time.perf_counter() - started
    table_dir = workdir / f"chunks_{n}.lance"
    data_bytes = dir_size(table_dir)

    rng = np.random.default_rng(1000 + n)
    queries = corpus.vectors(n_queries, rng)  # a question near one of the topics
    # Brute force at 1M rows takes seconds per query: fewer of them, same percentiles.
    brute_q = (
        queries[: max(10, n_queries // 10)]
        if n >= 1_000_000
        else queries[: max(20, n_queries // 2)]
        if n >= 100_000
        else queries
    )
    say(f"   brute force: {len(brute_q)} queries")
    table.search(queries[0]).bypass_vector_index().limit(5).to_list()  # warm the file cache
    brute_ms, brute_ids = time_queries(table, brute_q, indexed=False, nprobes=0, refine=0)

    row = {
        "chunks": n,
        "write_s": round(write_s, 1),
        "rows_per_s_write": round(n / write_s),
        "data_mb": round(data_bytes / 1e6, 1),
        "brute_p50_ms": round(percentile(brute_ms, 50), 2),
        "brute_p99_ms": round(percentile(brute_ms, 99), 2),
        "brute_queries": len(brute_q),
    }
    if n >= 10_000:
        partitions = max(16, int(np.sqrt(n)))
        say(f"   building {index_type} index ({partitions} partitions)")
        started = time.perf_counter()
        extra = {"num_sub_vectors": 48} if index_type == "IVF_PQ" else {}
        table.create_index(
            metric="cosine",
            num_partitions=partitions,
            index_type=index_type,
            sample_rate=64,
            max_iterations=10,
            **extra,
        )
        row["index_build_s"] = round(time.perf_counter() - started, 1)
        row["index_mb"] = round(index_size(table_dir) / 1e6, 1)
        nprobes, refine = max(8, partitions // 5), 10
        table.search(queries[0]).nprobes(nprobes).limit(5).to_list()
        say(f"   indexed: {len(queries)} queries (nprobes {nprobes}, refine x{refine})")
        ann_ms, ann_ids = time_queries(table, queries, indexed=True, nprobes=nprobes, refine=refine)
        recall = statistics.mean(len(set(a) & set(b)) / 5 for a, b in zip(ann_ids, brute_ids, strict=False))
        row.update(
            {
                "index_type": index_type,
                "index_p50_ms": round(percentile(ann_ms, 50), 2),
                "index_p99_ms": round(percentile(ann_ms, 99), 2),
                "recall_at_5": round(recall, 3),
                "nprobes": nprobes,
                "refine_factor": refine,
            }
        )
    say("   " + json.dumps(row))
    return row


def bench_ingestion(workdir: Path) -> dict:
    """The real pipeline on the sample articles: load, chunk, embed, write, FTS + compaction."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from knowledge.chunking import chunk_article
    from knowledge.config import SAMPLE_ARTICLES
    from knowledge.embedding import default_embedder
    from knowledge.ingest import ingest_folder
    from knowledge.loaders import find_article_files, load_article
    from knowledge.store import ChunkStore

    say("\n== ingestion of the sample articles (real embedding model)")
    embedder = default_embedder()
    embedder.embed(["warm up"])
    texts = [
        c.search_text
        for p in find_article_files(SAMPLE_ARTICLES)
        for c in chunk_article(load_article(p, SAMPLE_ARTICLES))
    ]
    started = time.perf_counter()
    embedder.embed(texts)
    embed_s = time.perf_counter() - started
    store = ChunkStore(str(workdir / "ingest"))
    started = time.perf_counter()
    report = ingest_folder(SAMPLE_ARTICLES, store, embedder.embed)
    total_s = time.perf_counter() - started
    row = {
        "articles": len(report.added),
        "chunks": report.chunks_written,
        "embed_only_chunks_per_s": round(len(texts) / embed_s, 1),
        "end_to_end_chunks_per_s": round(report.chunks_written / total_s, 1),
        "end_to_end_s": round(total_s, 2),
    }
    say("   " + json.dumps(row))
    return row


def markdown(rows: list[dict], ingestion: dict | None) -> str:
    out = [
        "| chunks | data | index size | brute force p50 / p99 | indexed p50 / p99 | recall@5 "
        "| index build | write |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        ivf = (
            f"{r['index_p50_ms']} / {r['index_p99_ms']} ms ({r['index_type']})"
            if "index_p50_ms" in r
            else "no index"
        )
        out.append(
            f"| {r['chunks']:,} | {r['data_mb']} MB | {r.get('index_mb', '-')} MB "
            f"| {r['brute_p50_ms']} / {r['brute_p99_ms']} ms | {ivf} | {r.get('recall_at_5', '-')} "
            f"| {r.get('index_build_s', '-')} s | {r['rows_per_s_write']:,} rows/s |"
        )
    if ingestion:
        out.append("")
        out.append(
            f"Ingestion (real model, {ingestion['articles']} articles, {ingestion['chunks']} chunks): "
            f"{ingestion['end_to_end_chunks_per_s']} chunks/s end to end; "
            f"embedding alone {ingestion['embed_only_chunks_per_s']} chunks/s."
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--skip-ingestion", action="store_true")
    parser.add_argument(
        "--index-type",
        default="IVF_SQ",
        choices=["IVF_SQ", "IVF_PQ", "IVF_FLAT"],
        help="IVF_SQ by default: on 2 cores IVF_PQ's codebook training takes minutes",
    )
    args = parser.parse_args(argv)

    import lancedb

    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="kb-scale-"))
    try:
        db = lancedb.connect(str(workdir))
        corpus = Corpus()
        rows = [bench_size(db, corpus, n, args.queries, workdir, args.index_type) for n in args.sizes]
        ingestion = None if args.skip_ingestion else bench_ingestion(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    cpu = platform.processor() or platform.machine()
    machine = f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
    table = markdown(rows, ingestion)
    print(
        f"\nKnowledge-base scale ({machine}, lancedb {lancedb.__version__}, "
        f"{time.perf_counter() - started:.0f} s)\n\n{table}"
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "kb_scale.json").write_text(
        json.dumps({"machine": machine, "sizes": rows, "ingestion": ingestion}, indent=2), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
