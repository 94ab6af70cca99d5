"""The answer-or-abstain decision, fitted on labelled questions instead of hand-picked.

A single cosine bar cannot tell "the best article is a weak match" from "two articles are
equally plausible"; the decision therefore looks at the retrieval signals together
(fused score, lead over the runner-up, question-to-title cosine, lead in best-chunk
cosine) through a logistic model. `kb eval --calibrate` fits the model on the project's
own labelled questions (top article right vs. wrong or no article answers) and writes it
to `knowledge/calibration.json`, which the engine reads at start-up. The threshold is the
one that best separates the two groups on that set (Youden's J), so refusing and
answering errors weigh the same. The signal set is one of the two best in leave-one-out
on the same questions; StackFAQ (see README) is measured, never fitted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

DEFAULT_PATH = Path(__file__).resolve().parent / "calibration.json"
FEATURES = ("score", "margin", "title", "cosine_gap")


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

    def confidence(self, signals: Mapping[str, float]) -> float:
        """Estimated probability that the top-ranked article answers the question."""
        z = self.bias + sum(w * float(signals[f]) for f, w in zip(self.features, self.weights, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def answers(self, signals: Mapping[str, float]) -> bool:
        if self.cosine_floor is not None and float(signals["cosine"]) >= self.cosine_floor:
            return True
        return self.confidence(signals) >= self.threshold

    def save(self, path: Path = DEFAULT_PATH) -> None:
        data = asdict(self)
        data["features"] = list(self.features)
        data["weights"] = [round(w, 6) for w in self.weights]
        data["bias"] = round(self.bias, 6)
        data["threshold"] = round(self.threshold, 6)
        Path(path).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str = DEFAULT_PATH) -> Calibration | None:
        """The committed calibration, or None when there is none (the engine then uses a cosine bar)."""
        path = Path(path)
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
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
        )


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
) -> Calibration:
    """Logistic regression (L2-regularised, Newton steps) on the retrieval signals."""
    if not answerable or not unanswerable:
        raise ValueError("calibration needs both answerable and unanswerable questions")
    rows = [[float(s[f]) for f in features] for s in [*answerable, *unanswerable]]
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
        p = 1.0 / (1.0 + np.exp(-z @ beta))
        grad = z.T @ (sample_w * (p - y)) + reg @ beta
        hess = (z * (sample_w * p * (1 - p))[:, None]).T @ z + reg
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = beta[:-1] / std
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
