"""Does the reading signal (knowledge/reading.py) improve the decision? Nested CV on the tune part.

The decision's weights are fitted on the tune part and its confident bar is set on the
index's own leave-one-article-out searches at a share (`NEGATIVE_RATE`) also chosen on
the tune part, so an in-sample figure flatters any new signal. This re-does both choices
inside cross-validation: 5 folds of the tune part's English questions by
`sha256(f"{seed}:{id}") % 5`, seeds 0-5; on each training part the logistic weights are
fitted and the share is the largest (0.025 steps, 5-70 %) that keeps the training part's
near misses at <= 10 % confident and its off-topic questions at none; the held-out fold is
then decided with them. Counts are summed over the folds of a seed.

Rule written before the run (docs/knowledge-quality.md, "reading signal"): adopt only if
the mean gain in confident + right answerable questions is >= 6 of 212 with near misses
and off-topic questions no more often confident than without it. The test part is not
read here.

Usage: HF_HUB_OFFLINE=1 .venv-actions/bin/python bench/reading_signal.py
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from knowledge.calibration import FEATURES, Calibration, fit, probes_from_rows, run_probes  # noqa: E402
from knowledge.config import SAMPLE_ARTICLES  # noqa: E402
from knowledge.embedding import default_embedder  # noqa: E402
from knowledge.evaluation import engine, load_labelled, self_calibrate  # noqa: E402
from knowledge.ingest import ingest_folder  # noqa: E402
from knowledge.store import ChunkStore  # noqa: E402

RATES = np.arange(0.05, 0.701, 0.025)
SEEDS = range(6)


def confidences(model: Calibration, signals) -> np.ndarray:
    return np.array([model.confidence(s) for s in signals])


def counts(rows, conf: np.ndarray, bar: float) -> np.ndarray:
    """confident + right, confident + wrong (answerable), near misses and off-topic confident."""
    out = np.zeros(4, int)
    for (kind, right, _), c in zip(rows, conf, strict=True):
        if c >= bar:
            answerable = kind == "answerable"
            out += [answerable and right, answerable and not right, kind == "near_miss", kind == "off_topic"]
    return out


def nested(rows, held, features) -> np.ndarray:
    per_seed = []
    for seed in SEEDS:
        fold = [int(hashlib.sha256(f"{seed}:{qid}".encode()).hexdigest(), 16) % 5 for _, _, (qid, _) in rows]
        total = np.zeros(4, int)
        for k in range(5):
            train = [r for r, f in zip(rows, fold, strict=True) if f != k]
            test = [r for r, f in zip(rows, fold, strict=True) if f == k]
            model = fit(
                [s for kind, right, (_, s) in train if kind == "answerable" and right],
                [s for _, right, (_, s) in train if not right],
                features=features,
            )
            held_conf = confidences(model, held)
            train_conf = confidences(model, [s for _, _, (_, s) in train])
            near = sum(kind == "near_miss" for kind, _, _ in train)
            bar = float(np.quantile(held_conf, 0.95))
            for rate in RATES:
                candidate = float(np.quantile(held_conf, 1 - rate)) + 1e-6
                c = counts(train, train_conf, candidate)
                if c[2] <= 0.10 * near and c[3] == 0:
                    bar = candidate
            total += counts(test, confidences(model, [s for _, _, (_, s) in test]), bar)
        per_seed.append(total)
    return np.array(per_seed)


def main() -> None:
    embedder = default_embedder()
    with tempfile.TemporaryDirectory() as tmp:
        store = ChunkStore(str(Path(tmp) / "kb"), "chunks", embedding_model=embedder.model_name)
        ingest_folder(SAMPLE_ARTICLES, store, embedder.embed)
        calibration, _ = self_calibrate(store, embedder, Calibration.load())
        kb = engine(store.uri, embedder, calibration)
        rows = []
        for q in load_labelled():
            if q.part != "tune" or q.lang != "en" or q.kind == "handoff":
                continue
            result = kb.search(q.q, q.history)
            right = result.article_ids()[:1] == [q.article]
            rows.append((q.kind, right, (q.id, result.signals.as_dict())))
        probes = run_probes(kb.retriever, embedder, probes_from_rows(store.headings()))
        held = [p.held_out for p in probes]
    print(f"tune part: {len(rows)} English questions, {len(held)} leave-one-article-out searches")
    print("nested CV, summed over 5 folds: confident + right / confident + wrong / near-miss / off-topic")
    without = [f for f in FEATURES if f != "reading"]
    results = {}
    for name, features in (("without reading", without), ("with reading", [*without, "reading"])):
        per_seed = nested(rows, held, features)
        results[name] = per_seed
        seeds = " ".join(str(c) for c in per_seed[:, 0])
        mean = per_seed.mean(axis=0)
        print(
            f"{name:<16} per seed {seeds}  mean {mean[0]:.1f} / {mean[1]:.1f} / {mean[2]:.1f} / {mean[3]:.1f}"
        )
    gain = results["with reading"][:, 0] - results["without reading"][:, 0]
    print(f"gain per seed {' '.join(f'{g:+d}' for g in gain)}, mean {gain.mean():+.1f} (rule: >= +6)")


if __name__ == "__main__":
    main()
