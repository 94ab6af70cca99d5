"""Which embedding model finds the right article for customer wording (issue 17)?

Ranks the sample help centre for the labelled customer questions with each packaged
model, and with both models' cosines mixed, through today's fusion (best chunk cosine +
0.2 x title cosine + 0.1 x BM25 scaled over the candidates). The full-text hits come from
a real LanceDB index (the same for every model); the fusion is re-done here in numpy so
that mixtures of two models' cosines can be scored without an index per mixture. The
script first checks that its numpy fusion ranks exactly as `Retriever` does for the
shipped model, so the figures are today's engine's.

Choose on the tune part only (the default). `--part test` prints the test part for the
variants named with `--variants`, for the one report after choosing.

Embeddings are cached (`--cache`, default /tmp/kb-embedding-models) because MPNet takes
minutes to embed the set on a 2-core machine.

Usage:
  HF_HUB_OFFLINE=1 .venv-actions/bin/python bench/embedding_models.py [--grid]
      [--models all-MiniLM-L6-v2,all-mpnet-base-v2]
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from knowledge.chunking import chunk_article  # noqa: E402
from knowledge.config import SAMPLE_ARTICLES, RetrievalSettings  # noqa: E402
from knowledge.evaluation import load_labelled, mrr_at, recall_at  # noqa: E402
from knowledge.loaders import find_article_files, load_article  # noqa: E402
from knowledge.retrieval import CANDIDATES, DEFAULT_WEIGHTS, Retriever, Weights, build_query  # noqa: E402

DEPTH = 10


def articles():
    root = SAMPLE_ARTICLES.resolve()
    return [load_article(p, root) for p in find_article_files(root)]


def texts_to_embed(arts, queries):
    chunks = [c for a in arts for c in chunk_article(a)]
    return chunks, [c.search_text for c in chunks] + [a.title for a in arts] + list(queries)


def cached_vectors(model: str, texts: list[str], cache: Path) -> np.ndarray:
    """Vectors of `texts` by `model` (a name `knowledge.embedding.model_path` knows, or a path)."""
    key = hashlib.sha256(("\n\x00".join([model, *texts])).encode()).hexdigest()[:16]
    file = cache / f"{Path(model).name}-{key}.npy"
    if file.is_file():
        return np.load(file)
    from knowledge.embedding import Embedder, model_path

    print(f"embedding {len(texts)} texts with {model} ...", file=sys.stderr, flush=True)
    vectors = Embedder(model_path(model)).embed(texts)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(file, vectors)
    return vectors


def graph_vectors(model: str, graph: str, texts: list[str]) -> np.ndarray:
    """Question vectors from an ONNX graph of `model`'s transformer, pooled as `embed_one` does."""
    import onnxruntime as ort
    from transformers import AutoTokenizer

    from knowledge.embedding import model_path

    tokenizer = AutoTokenizer.from_pretrained(model_path(model))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    out = []
    for text in texts:
        ids = tokenizer(text, truncation=True, max_length=256, return_tensors="np")["input_ids"]
        ids = ids.astype(np.int64)
        states = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0].mean(axis=0)
        out.append(states / np.linalg.norm(states))
    return np.asarray(out, dtype=np.float32)


def fts_hits(queries: list[str], workdir: Path) -> list[dict[str, float]]:
    """BM25 hits (chunk id -> score) for each query, from a real index of the sample articles."""
    from knowledge.embedding import default_embedder
    from knowledge.ingest import ingest_folder
    from knowledge.store import ChunkStore

    embedder = default_embedder()
    store = ChunkStore(str(workdir / "kb"))
    ingest_folder(SAMPLE_ARTICLES, store, embedder.embed)
    retriever = Retriever(store, embedder, RetrievalSettings())
    vectors = embedder.embed(queries)
    hits, reference = [], []
    for query, vector in zip(queries, vectors, strict=True):
        rows = retriever.candidates(query, vector)
        hits.append({r["chunk_id"]: r["_fts"] for r in rows if r.get("_fts") is not None})
        reference.append(tuple(retriever.rescore(query, vector, rows, limit=4 * DEPTH).article_ids()))
    return hits, reference


def rank(chunk_cos, title_cos, chunk_ids, chunk_articles, article_ids, hits, weights=DEFAULT_WEIGHTS):
    """Today's fusion (`Retriever._score`, hybrid mode) for one question."""
    order = np.argsort(-chunk_cos, kind="stable")[:CANDIDATES]
    chosen = {chunk_ids[i]: i for i in order}
    index = {c: i for i, c in enumerate(chunk_ids)}
    for chunk_id in hits:
        chosen.setdefault(chunk_id, index[chunk_id])
    best_cos: dict[str, float] = {}
    best_fts: dict[str, float] = {}
    for chunk_id, i in chosen.items():
        a = chunk_articles[i]
        best_cos[a] = max(best_cos.get(a, -9.0), float(chunk_cos[i]))
        best_fts[a] = max(best_fts.get(a, 0.0), float(hits.get(chunk_id) or 0.0))
    lo, hi = min(best_fts.values()), max(best_fts.values())
    score = {
        a: best_cos[a]
        + weights.title * float(title_cos[article_ids.index(a)])
        + weights.fts * ((best_fts[a] - lo) / (hi - lo) if hi > lo else 0.0)
        for a in best_cos
    }
    return tuple(sorted(score, key=lambda a: -score[a]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="all-MiniLM-L6-v2,all-mpnet-base-v2")
    parser.add_argument("--part", default="tune", choices=("tune", "test"))
    parser.add_argument("--variants", default="", help="with --part test: variant names to report")
    parser.add_argument("--grid", action="store_true", help="also a small grid of fusion weights")
    parser.add_argument(
        "--query-graph",
        action="append",
        default=[],
        help="MODEL=PATH: also rank with questions embedded by this ONNX graph",
    )
    parser.add_argument("--cache", default="/tmp/kb-embedding-models")
    args = parser.parse_args()
    cache = Path(args.cache)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    questions = [
        q for q in load_labelled() if q.part == args.part and q.kind == "answerable" and q.lang == "en"
    ]
    queries = [build_query(q.q, q.history, RetrievalSettings().max_messages_in_query) for q in questions]
    gold = [q.article for q in questions]
    arts = articles()
    chunks, texts = texts_to_embed(arts, queries)
    chunk_ids = [c.chunk_id for c in chunks]
    chunk_articles = [c.article_id for c in chunks]
    article_ids = [a.article_id for a in arts]
    n_chunks, n_arts = len(chunks), len(arts)
    cos = {}
    for model in models:
        v = cached_vectors(model, texts, cache)
        c, t, q = v[:n_chunks], v[n_chunks : n_chunks + n_arts], v[n_chunks + n_arts :]
        cos[model] = (q @ c.T, q @ t.T)
        for spec in args.query_graph:
            # The questions through another graph of this model (e.g. int8), the articles as ingested.
            graph_model, _, graph = spec.partition("=")
            if graph_model != model:
                continue
            name = f"{model} questions by {Path(graph).name}"
            q = graph_vectors(model, graph, queries)
            cos[name] = (q @ c.T, q @ t.T)
    with tempfile.TemporaryDirectory() as tmp:
        hits, reference = fts_hits(queries, Path(tmp))

    def ranks(mix: dict[str, float], weights=DEFAULT_WEIGHTS):
        chunk = sum(w * cos[m][0] for m, w in mix.items())
        title = sum(w * cos[m][1] for m, w in mix.items())
        return [
            rank(chunk[i], title[i], chunk_ids, chunk_articles, article_ids, hits[i], weights)
            for i in range(len(queries))
        ]

    def vector_only(mix: dict[str, float]):
        chunk = sum(w * cos[m][0] for m, w in mix.items())
        out = []
        for i in range(len(queries)):
            best: dict[str, float] = {}
            for j in np.argsort(-chunk[i], kind="stable"):
                best.setdefault(chunk_articles[j], float(chunk[i][j]))
            out.append(tuple(best))
        return out

    shipped = ranks({models[0]: 1.0})
    same = sum(a[:DEPTH] == b[:DEPTH] for a, b in zip(shipped, reference, strict=True))
    print(f"check: numpy fusion ranks as Retriever does for {models[0]}: {same}/{len(queries)} top-{DEPTH}")

    variants: dict[str, dict[str, float]] = {m: {m: 1.0} for m in cos}
    if len(models) == 2:
        for share in (0.25, 0.5, 0.75):
            variants[f"mix {share:.2f} {models[1]}"] = {models[0]: 1 - share, models[1]: share}
    wanted = [v.strip() for v in args.variants.split(";") if v.strip()]
    print(f"{args.part} part: {len(questions)} answerable English questions")
    print(f"{'variant':<44}{'R@1':>7}{'right':>7}{'R@3':>7}{'MRR@10':>8}")
    for name, mix in variants.items():
        if wanted and name not in wanted:
            continue
        r = ranks(mix)
        right = sum(x[0] == g for x, g in zip(r, gold, strict=True))
        print(
            f"{name:<44}{recall_at(r, gold, 1):>7.3f}{right:>7}{recall_at(r, gold, 3):>7.3f}"
            f"{mrr_at(r, gold, DEPTH):>8.3f}"
        )
    if args.grid:
        print("\nfusion weights per variant (title x fts), R@1 / MRR@10; vector only = best chunk cosine")
        grid = [(t, f) for t in (0.0, 0.1, 0.2, 0.3) for f in (0.0, 0.1, 0.2, 0.3)]
        for name, mix in variants.items():
            if wanted and name not in wanted:
                continue
            vec = vector_only(mix)
            cells = [f"vector only {recall_at(vec, gold, 1):.3f}/{mrr_at(vec, gold, DEPTH):.3f}"]
            best = None
            for t, f in grid:
                r = ranks(mix, Weights(t, 0.0, f))
                r1, mrr = recall_at(r, gold, 1), mrr_at(r, gold, DEPTH)
                if best is None or (r1, mrr) > best[:2]:
                    best = (r1, mrr, t, f)
                cells.append(f"{t:.1f}x{f:.1f} {r1:.3f}/{mrr:.3f}")
            print(f"{name}: best {best[0]:.3f}/{best[1]:.3f} at title {best[2]}, fts {best[3]}")
            for i in range(0, len(cells), 6):
                print("   " + "  ".join(cells[i : i + 6]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
