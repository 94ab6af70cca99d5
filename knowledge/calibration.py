"""The three-way decision: a confident answer, "these articles may help", or "I don't know".

A single cosine bar cannot tell "the best article is a weak match" from "two articles are
equally plausible"; the confidence therefore looks at the retrieval signals together
through a logistic model whose weights (how the signals combine) were fitted on the
tuning part of the labelled questions and ship in `knowledge/calibration.json`.

The bars are the customer's own: `kb calibrate` (and `kb ingest`, when articles change)
searches questions made from the knowledge base itself (article titles, section
headings, and labelled questions when given) once with the whole index and once with
the question's own article left out. A question whose article is missing must not get
a confident answer, so the confident bar is set where only a small, fixed share of
these leave-one-article-out searches still reach it; the lower bar, below which the bot
says "I don't know", sits under nearly all of them (they are still about the business).
The result is stored with the index (`ChunkStore.save_calibration`), so it follows the
index to object storage; until it exists the committed file is the documented default.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

DEFAULT_PATH = Path(__file__).resolve().parent / "calibration.json"
# Chosen on the tune part: every signal together beat the old four (score, margin,
# title, cosine_gap) and the smaller sets tried (docs/knowledge-quality.md).
FEATURES = (
    "score",
    "cosine",
    "margin",
    "title",
    "cosine_gap",
    "heading",
    "lexical",
    "agreement",
    "coverage",
    "reading",
)
ANSWER, SUGGEST, ABSTAIN = "answer", "suggest", "abstain"
# A confident answer needs the best passage at least this share of the "unrelated" bar close
# to the question. Below it the sentence vector finds nothing near, and whatever clears the
# logistic's bar is a single shared word picked by the full-text side ("what's your name?"
# quoting "contact support with your name": cosine 0.14 against a bar of 0.227). On the tune
# part the lowest cosine of a confident right answer is 0.198, so at 0.75 nothing there moves.
CONFIDENT_COSINE_SHARE = 0.75


@dataclass(frozen=True)
class Calibration:
    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    fitted_on: str = ""
    answerable: int = 0
    unanswerable: int = 0
    # A passage this close to the question answers it even when several articles compete
    # for it (a small margin is what pulls "How long does shipping take?" under the bar).
    cosine_floor: float | None = None
    threshold_note: str = ""
    # Below this best-chunk cosine the question is clearly unrelated ("I don't know");
    # between it and the confident bar the customer gets the nearest articles instead.
    suggest_cosine: float | None = None
    # How the bars were found, e.g. "leave-one-article-out on 412 questions, 2026-12-06".
    bars_from: str = ""
    # No confident answer when the question's least-matched word reads below this in the
    # top article (the `reading` signal): a question about another company's product
    # ("how do I factory reset my Nest thermostat?") matches every word but the one that
    # names the product, and a fit on more questions trusts the other signals enough to
    # answer it. Off in the shipped calibration; bench/decision_refit.py measures a refit
    # with it (docs/knowledge-quality.md, fourteenth session).
    reading_floor: float | None = None

    def outcome(self, signals: Mapping[str, float]) -> str:
        """ANSWER, SUGGEST or ABSTAIN for one search's signals."""
        if self.answers(signals):
            return ANSWER
        if self.suggest_cosine is None or float(signals["cosine"]) >= self.suggest_cosine:
            return SUGGEST
        return ABSTAIN

    def related(self, signals: Mapping[str, float]) -> bool:
        """Not clearly unrelated: with a model configured, this is all retrieval decides."""
        return self.suggest_cosine is None or float(signals["cosine"]) >= self.suggest_cosine

    def to_json(self) -> str:
        data = asdict(self)
        data["features"] = list(self.features)
        data["weights"] = [round(w, 6) for w in self.weights]
        for key in ("bias", "threshold"):
            data[key] = round(data[key], 6)
        if self.suggest_cosine is not None:
            data["suggest_cosine"] = round(self.suggest_cosine, 6)
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        data = json.loads(text)
        return cls(
            features=tuple(data["features"]),
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            fitted_on=str(data.get("fitted_on", "")),
            answerable=int(data.get("answerable", 0)),
            unanswerable=int(data.get("unanswerable", 0)),
            cosine_floor=float(data["cosine_floor"]) if data.get("cosine_floor") is not None else None,
            threshold_note=str(data.get("threshold_note", "")),
            suggest_cosine=(
                float(data["suggest_cosine"]) if data.get("suggest_cosine") is not None else None
            ),
            bars_from=str(data.get("bars_from", "")),
            reading_floor=float(data["reading_floor"]) if data.get("reading_floor") is not None else None,
        )

    def confidence(self, signals: Mapping[str, float]) -> float:
        """Estimated probability that the top-ranked article answers the question."""
        z = self.bias + sum(w * float(signals[f]) for f, w in zip(self.features, self.weights, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def answers(self, signals: Mapping[str, float]) -> bool:
        if (
            self.suggest_cosine is not None
            and float(signals["cosine"]) < CONFIDENT_COSINE_SHARE * self.suggest_cosine
        ):
            return False
        if self.reading_floor is not None and float(signals.get("reading", 1.0)) < self.reading_floor:
            return False
        if self.cosine_floor is not None and float(signals["cosine"]) >= self.cosine_floor:
            return True
        return self.confidence(signals) >= self.threshold

    def save(self, path: Path = DEFAULT_PATH) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str = DEFAULT_PATH) -> Calibration | None:
        """The committed calibration, or None when there is none (the engine then uses a cosine bar)."""
        path = Path(path)
        if not path.is_file():
            return None
        return cls.from_json(path.read_text(encoding="utf-8"))


def best_threshold(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Threshold maximising answered-positives minus answered-negatives (Youden's J).

    Among equally good cut points the middle of the widest gap is taken, so the bar sits
    away from both groups rather than on the edge of one.
    """
    pos, neg = np.asarray(positives, float), np.asarray(negatives, float)
    values = np.unique(np.concatenate([pos, neg]))
    cuts = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    j = np.array([(pos >= c).mean() - (neg >= c).mean() for c in cuts])
    best = np.flatnonzero(np.isclose(j, j.max()))
    # consecutive best cuts form a plateau; take the middle of the first plateau
    run = [best[0]]
    for i in best[1:]:
        if i == run[-1] + 1:
            run.append(i)
        else:
            break
    return float((cuts[run[0]] + cuts[run[-1]]) / 2)


def fit(
    answerable: Sequence[Mapping[str, float]],
    unanswerable: Sequence[Mapping[str, float]],
    features: Sequence[str] = FEATURES,
    l2: float = 1.0,
    fitted_on: str = "",
    held: Mapping[str, float] | None = None,
) -> Calibration:
    """Logistic regression (L2-regularised, Newton steps) on the retrieval signals.

    `held`: weights kept as given, the others fitted around them. Questions naming another
    company's product differ from answerable ones mostly in the reading signal and are rare
    in any labelled set, so a fit on more questions learns to trust that signal less than
    the tune part's fit did and lets them through (docs/knowledge-quality.md, fourteenth
    session); holding its weight keeps what the smaller fit knew.
    """
    if not answerable or not unanswerable:
        raise ValueError("calibration needs both answerable and unanswerable questions")
    held = dict(held or {})
    all_signals = [*answerable, *unanswerable]
    offset = np.array([sum(w * float(s[f]) for f, w in held.items()) for s in all_signals])
    free = [f for f in features if f not in held]
    rows = [[float(s[f]) for f in free] for s in all_signals]
    x = np.asarray(rows, dtype=float)
    y = np.concatenate([np.ones(len(answerable)), np.zeros(len(unanswerable))])
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    # Weight the classes equally: there are far fewer unanswerable questions.
    sample_w = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    beta = np.zeros(z.shape[1])
    reg = np.eye(z.shape[1]) * l2
    reg[-1, -1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(z @ beta + offset)))
        grad = z.T @ (sample_w * (p - y)) + reg @ beta
        hess = (z * (sample_w * p * (1 - p))[:, None]).T @ z + reg
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    fitted = dict(zip(free, beta[:-1] / std, strict=True))
    weights = [fitted[f] if f in fitted else held[f] for f in features]
    bias = beta[-1] - float(np.sum(beta[:-1] * mean / std))
    model = Calibration(
        tuple(features),
        tuple(float(w) for w in weights),
        float(bias),
        0.5,
        fitted_on,
        len(answerable),
        len(unanswerable),
    )
    threshold = best_threshold(
        [model.confidence(s) for s in answerable], [model.confidence(s) for s in unanswerable]
    )
    return Calibration(
        model.features, model.weights, model.bias, threshold, fitted_on, len(answerable), len(unanswerable)
    )


# -- the customer's own bars: leave-one-article-out on questions made from the index ----

# Share of leave-one-article-out searches allowed to reach the confident bar, and the
# share allowed under the "clearly unrelated" bar; both chosen on the tuning part of the
# labelled questions (docs/knowledge-quality.md), never on a test set.
# Titles and headings searched without their article still match a sibling article
# closely (they are the articles' own words), so they look surer than real near-miss
# questions. With the reading signal (`knowledge.reading`) near misses score far below
# them (a left-out title's words are in a sibling article, a near miss's odd word is not),
# so the share is the largest (0.025 steps) that keeps the tune part's near misses at 10 %
# confident and its off-topic questions at none: 52.5 % (40 % before the signal). On
# StackFAQ this loosens the bar (docs/knowledge-quality.md, "The reading signal").
NEGATIVE_RATE = 0.525
UNRELATED_QUANTILE = 0.10
MAX_PROBES = 800
# `kb ingest` recalibrates within this many seconds (the searches stop when it is spent).
BUDGET_SECONDS = 120.0
_GENERIC_HEADING = re.compile(
    r"^(answer|page|part|step|section|chapter)\s*\d+$|^(overview|introduction|summary|notes?|faq)$", re.I
)


@dataclass(frozen=True)
class Probe:
    """A question made from the index (or a labelled one), with the article it is about."""

    text: str
    article_id: str
    kind: str  # "title", "heading" or "question"


@dataclass(frozen=True)
class ProbeResult:
    probe: Probe
    top: str  # the top article with the whole index
    signals: dict[str, float]  # ... and its signals
    held_out: dict[str, float]  # signals with the probe's own article left out


def probes_from_rows(rows: Sequence[Mapping[str, str]], limit: int = MAX_PROBES) -> list[Probe]:
    """Every article's title and its specific section headings, as a customer might ask them."""
    probes: dict[tuple[str, str], Probe] = {}
    for row in rows:
        article, title, section = (
            row["article_id"],
            (row.get("title") or "").strip(),
            row.get("section") or "",
        )
        if title and (article, title.lower()) not in probes:
            probes[(article, title.lower())] = Probe(title, article, "title")
        section = section.strip()
        if section and section != title and len(section.split()) >= 2 and not _GENERIC_HEADING.match(section):
            probes.setdefault((article, section.lower()), Probe(section, article, "heading"))
    chosen = list(probes.values())
    if len(chosen) > limit:  # an even spread over the articles, titles first
        chosen.sort(key=lambda p: (p.kind != "title",))
        chosen = chosen[:limit]
    return chosen


def run_probes(
    retriever, embedder, probes: Sequence[Probe], deadline: float | None = None
) -> list[ProbeResult]:
    """Each probe searched twice from one set of candidates: whole index, own article left out."""
    results: list[ProbeResult] = []
    for start in range(0, len(probes), 64):
        if deadline is not None and time.monotonic() > deadline:
            break
        batch = probes[start : start + 64]
        vectors = embedder.embed([p.text for p in batch])
        for probe, vector in zip(batch, vectors, strict=True):
            rows = retriever.candidates(probe.text, vector)
            full = retriever.rescore(probe.text, vector, rows)
            without = retriever.rescore(probe.text, vector, rows, exclude=frozenset({probe.article_id}))
            if not full.passages or not without.passages:
                continue
            results.append(
                ProbeResult(probe, full.article_ids()[0], full.signals.as_dict(), without.signals.as_dict())
            )
    return results


def with_bars(
    base: Calibration,
    results: Sequence[ProbeResult],
    negative_rate: float = NEGATIVE_RATE,
    unrelated_quantile: float = UNRELATED_QUANTILE,
) -> Calibration:
    """The base model with the confident and the "unrelated" bar set on the probes."""
    negatives = [r.held_out for r in results]
    if len(negatives) < 10:
        raise ValueError(f"calibration needs at least 10 questions, got {len(negatives)}")
    confidence = np.array([base.confidence(s) for s in negatives])
    # The confident bar: at most `negative_rate` of questions whose article is missing pass it.
    threshold = float(np.quantile(confidence, 1.0 - negative_rate)) + 1e-6
    cosine = np.array([s["cosine"] for s in negatives])
    suggest = float(np.quantile(cosine, unrelated_quantile))
    kinds = sorted({r.probe.kind for r in results})
    return replace(
        base,
        threshold=threshold,
        suggest_cosine=suggest,
        cosine_floor=None,
        bars_from=(
            f"leave-one-article-out on {len(results)} questions ({', '.join(kinds)}): confident bar = "
            f"{1 - negative_rate:.0%} quantile of their confidence, unrelated bar = "
            f"{unrelated_quantile:.0%} quantile of their best cosine"
        ),
    )


def curve(
    base: Calibration,
    results: Sequence[ProbeResult],
    rates: Sequence[float] = (0.05, 0.1, 0.2, 0.3, 0.4, NEGATIVE_RATE, 0.6),
) -> list[tuple[float, float, float]]:
    """(share of leave-one-out searches confident, bar, share of own-article probes answered right)."""
    held = np.array([base.confidence(r.held_out) for r in results])
    full = [(base.confidence(r.signals), r.top == r.probe.article_id) for r in results]
    rows = []
    for rate in rates:
        bar = float(np.quantile(held, 1.0 - rate))
        rows.append((rate, bar, float(np.mean([c >= bar and ok for c, ok in full])) if full else 0.0))
    return rows
