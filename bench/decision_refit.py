"""What the decision's weights would give on questions they were not fitted on (issue 17).

The answer / suggest / don't-know decision is a logistic model over the retrieval signals
(`knowledge/calibration.py`) whose weights ship in `knowledge/calibration.json`. Fitted on
the tune part alone (272 questions) they are close to what those questions happen to
contain; `knowledge/eval/development_questions.yml` holds more batches (ten, 865 questions,
when the figures below were measured; twenty, 1,703, since the fifteenth session), written
by people who saw neither the code nor the labelled set. This script estimates,
batch by batch, what a fit on more questions does for a customer it never saw: each batch
is held out in turn, the weights are fitted on the tune part and the other nine batches,
the bars are set on the sample index's own leave-one-article-out searches exactly as
`kb calibrate` sets them, and the held-out batch is decided. Summed over the ten batches
(English: 565 answerable, 192 near misses, 53 off-topic) against the shipped decision.

Fourteenth-session rule (lead), written before the candidate was built into the engine
and before any question written this session was decided with it. From this script's
figures on the development batches (main: confident + right 323, confident + wrong 30,
near misses confident 25, off-topic confident 1), the candidate is: weights fitted on the
tune part plus all ten batches, the share of left-out searches allowed through 47.5 %
(52.5 % today), and a reading floor of 0.22 (no confident answer when the question's
least-matched word reads below it in the top article; the fit otherwise answers "how do
I factory reset my Nest thermostat?"); held out batch by batch it gives 348 / 26 / 26 / 1.
It is adopted only if, on the two batches written this session by people who saw nothing
but the articles (/work/private/u14.yml and s14.yml, kept outside the repository; u14 was
decided on main before any change), English questions, through `kb eval --questions`:
confident + right is higher in total, confident + wrong not higher, near misses confident
at most one more, off-topic confident none, right article first not lower. Then `kb eval`
once on the test part, reported as measured, whichever way it goes.

Outcome: the fresh batches met every condition (u14 + s14 confident + right 98 -> 101 of
130, wrong 7 -> 7, near misses 2 -> 0, off-topic 0); the test part, read once, lost one
confident right answer and answered an off-topic question ("cancel my spotify
subscription", the issue's own example). Not shipped (docs/knowledge-quality.md,
"Fourteenth session"). Five development questions that repeat labelled ones were then left
out of the file; the figures above were computed with them (now 321 / 30 / 25 / 1 against
347 / 26 / 26 / 1).

Second candidate (lead, same session), written before it was built into the engine and
before the two batches that judge it were written. Honesty note: it was designed after the
first candidate's test-part failure was seen. The refit weighs the reading signal less,
and that signal is what keeps a question about another company's product from an
answer; this candidate keeps the shipped reading weight (6.29) and fits the other weights
around it (`fit(..., held=...)`, `--hold-reading`), share 47.5 %, reading floor 0.22.
Held out batch by batch (865-question file): 340 / 27 / 26 / 1 against the shipped 321 /
30 / 25 / 1. Judges: /work/private/j14a.yml and j14b.yml (100 questions each, written for
this by people who saw nothing but the articles: 55 answerable, 25 near misses, 20
off-topic of which at least 12 name another company's product). Adopted only if, on
their English questions through `kb eval --questions`, against main: confident + right
higher in total, confident + wrong not higher, near misses confident at most one more,
off-topic confident not higher; and then, on the test part read once (`kb eval`):
confident + right not below 75.0 %, off-topic no confident answer 100 %, near misses
confident not above 12.5 %. Whatever it gives is reported.

Outcome: every condition met (judges: confident + right 71 -> 74 of 110, wrong 9 -> 8, near
misses 8 -> 8, off-topic 10 -> 10; test part: every decision line unchanged, SMS facts 55 ->
56 of 69), and it was merged on a branch; then two more fresh batches written to test
names (k14a, k14b: 60 questions about other companies' products) showed it answering 6
more of them confidently (10 -> 16 of 60) for 3 more right answers of 90. Not shipped: it
trusts the lexical signals more (weight 1.0 -> 2.0), which is what a question about someone
else's product scores high on (docs/knowledge-quality.md, "Fourteenth session").

    HF_HUB_OFFLINE=1 .venv-actions/bin/python bench/decision_refit.py [--cache DIR]
        [--rates 0.45 0.475 0.5] [--floors 0 0.22] [--hold-reading]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.calibration import ANSWER, DEFAULT_PATH, NEGATIVE_RATE, Calibration, with_bars  # noqa: E402
from knowledge.eval.dataset import DEVELOPMENT_QUESTIONS  # noqa: E402
from knowledge.evaluation import (  # noqa: E402
    SAMPLE_ARTICLES,
    article_ids,
    calibrated_sample,
    engine,
    fit_base,
    load_labelled,
    load_questions_file,
    run_engine,
)


def batch_of(question_id: str) -> str:
    """The development batch a question came from: its id's prefix (`u12-`, `c13-`, ...)."""
    return question_id.split("-", 1)[0]


def tally(calibration: Calibration, records) -> tuple[int, int, int, int]:
    """(confident + right, confident + wrong, near misses confident, off-topic confident)."""
    right = wrong = near = off = 0
    for r in records:
        if calibration.outcome(r.signals) != ANSWER:
            continue
        kind = r.question.kind
        if kind == "answerable":
            right += r.right_first
            wrong += not r.right_first
        near += kind == "near_miss"
        off += kind == "off_topic"
    return right, wrong, near, off


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, help="keep (and reuse) the sample index here")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.425, 0.45, 0.475, 0.5, NEGATIVE_RATE])
    parser.add_argument("--floors", type=float, nargs="+", default=[0.0, 0.22])
    parser.add_argument(
        "--hold-reading", action="store_true", help="keep the shipped weight of the reading signal"
    )
    args = parser.parse_args()
    from knowledge.embedding import default_embedder

    started = time.perf_counter()
    embedder = default_embedder()
    with tempfile.TemporaryDirectory(prefix="decision-refit-") as tmp:
        root = args.cache or Path(tmp)
        shipped = Calibration.load(DEFAULT_PATH)
        store, calibration, probes = calibrated_sample(embedder, root, shipped, states=True, reuse=True)
        kb = engine(store.uri, embedder, calibration)
        tune = run_engine(kb, [q for q in load_labelled() if q.part == "tune" and q.lang == "en"])
        development = [
            q
            for q in load_questions_file(DEVELOPMENT_QUESTIONS, article_ids(SAMPLE_ARTICLES))
            if q.lang == "en"
        ]
        print(f"tune part: {len(tune)} English questions; deciding {len(development)} development ones ...")
        records = run_engine(kb, development)
    batches: dict[str, list] = {}
    for r in records:
        batches.setdefault(batch_of(r.question.id), []).append(r)

    def fmt(t: tuple[int, int, int, int]) -> str:
        return f"confident + right {t[0]:4d}, + wrong {t[1]:3d}, near misses {t[2]:3d}, off-topic {t[3]:2d}"

    main_total = [sum(x) for x in zip(*(tally(calibration, b) for b in batches.values()), strict=True)]
    n_ans = sum(r.question.kind == "answerable" for r in records)
    n_near = sum(r.question.kind == "near_miss" for r in records)
    n_off = sum(r.question.kind == "off_topic" for r in records)
    print(f"{len(batches)} batches: {n_ans} answerable, {n_near} near misses, {n_off} off-topic (English)")
    print(f"shipped decision:                     {fmt(tuple(main_total))}")
    weights = dict(zip(shipped.features, shipped.weights, strict=True))
    kept = {"reading": weights["reading"]} if args.hold_reading else None
    fitted = {}
    for held in batches:
        others = [r for name, b in batches.items() if name != held for r in b]
        fitted[held] = fit_base(tune + others, held=kept)
    for floor in args.floors:
        for rate in args.rates:
            total = [0, 0, 0, 0]
            for held, chosen in batches.items():
                decided = replace(
                    with_bars(fitted[held], probes, negative_rate=rate), reading_floor=floor or None
                )
                total = [a + b for a, b in zip(total, tally(decided, chosen), strict=True)]
            print(f"held out, share {rate:.3f}, floor {floor:.2f}: {fmt(tuple(total))}")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
