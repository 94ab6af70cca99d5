"""Close siblings told apart word piece by word piece: does it put the right article first?

Issue 17, tenth session (helper "rank"). On the tune part and three development batches
written by people who never saw the labelled set (60 long messages, 45 fresh long messages,
60 follow-ups), most ranking misses are sibling confusions: the right article is second or
third, a few hundredths behind (`unlock` for "forgot my password", *Failed payment* for "if I
cancel today do I lose access", *Shipping options* for a customs question). The fused
score sees each article through one vector per chunk plus its title and BM25: two siblings
written in the same vocabulary score alike, and the title bonus often decides.

The decision already reads the question against the TOP article's chunks token by token
(`knowledge.reading`, late interaction: each content word piece of the question matched to
its most similar token state in the article's retrieved chunks). The candidate reads the
close runners-up the same way and lets that reading reorder them:

* articles whose fused score is within ``GAP`` of the top one (``SEE_ALSO_GAP``, 0.08: the
  distance the engine already calls "as close as a See also") are the close siblings;
* each close sibling's score gets ``+ W * mean MaxSim`` (``mean``: the average over the
  question's content word pieces of their best match in that article's candidate chunks;
  ``min`` is the decision's reading signal, the weakest word piece); the others keep their
  score minus nothing, the top article is read like its siblings, so the bonus is relative;
* only articles below the gap are untouched, so a clear winner is never reordered and a
  question with no close sibling costs nothing beyond today's reading.

The stored token states make this a few small matrix products (no model pass beyond the
question's own, which the search already makes). No word lists, no per-question tuning.

Candidates (chosen before any was measured): reading ``mean`` or ``min``, ``W`` in
{0.1, 0.2, 0.4}; six in all, plus ``today``.

ADOPTION RULE (written and committed before any candidate was measured; baseline = the
engine at the commit this script was added on):

Pooled over the tune part's English answerable and near-miss questions (212 + 50) and the
three development batches (/work/wt/dev/long-dev.yml 60 + 20, /work/wt/dev2/long-fresh.yml
45 + 15, /work/wt/dev/followup-dev.yml 60), each question through `KnowledgeBase.search`
as `kb eval` runs it (history included), against ``today`` (baseline: right first
167 + 47 + 36 + 48 = 298 of 377):

1. right article first gains >= 5 of 377;
2. confident + right is not lower, confident + wrong is not higher (pooled);
3. near misses answered confidently are not higher (tune + both long batches, 85);
4. the tune part alone loses no more than 2 right-first (a gain that only the dev
   batches show is allowed; a loss on the labelled tune wording beyond noise is not);
5. later turns (`bench/followup_readings.py`, tune part) lose at most 2 of 382;
6. search p50 <= 20 ms (`bench/retrieval_latency.py --rounds 1 --concurrency 0`).

Among the candidates that meet 1-4, the one with the largest right-first gain (ties: fewer
confident + wrong, then smaller W); it is then checked on 5 and 6 and landed in
knowledge/ only if they hold. Then `kb eval` once (tune and the single test-part figure,
reported whatever they are) and StackFAQ for information (never used to choose). If none
qualifies, nothing lands; the evidence goes to docs/knowledge-quality.md.

Result of the first round (measured after the rule above was committed; 138 s):

| candidate | right first (of 377) | conf + right | conf + wrong | near conf (of 85) | tune first |
|---|---|---|---|---|---|
| today | 298 | 231 | 24 | 6 | 167 |
| mean 0.1 | 302 | 236 | 26 | 6 | 169 |
| mean 0.2 | 306 | 237 | 30 | 6 | 171 |
| mean 0.4 | 309 | 238 | 32 | 6 | 172 |
| min 0.1 | 298 | 232 | 29 | 6 | 167 |
| min 0.2 | 301 | 232 | 31 | 6 | 169 |
| min 0.4 | 302 | 236 | 32 | 6 | 170 |

Every candidate raises confident + wrong (rule 2): none qualifies. Why: the bonus is
relative to the leader, so a sibling that reads worse falls behind and the decision's
``margin`` (and ``score``) widen; wrong leaders become confident (tune bil-008, dev-003).

SECOND ROUND (written and committed after the first round's figures, before this round
was measured): the same reordering, but the decision's inputs stay the fused scores'
(``order-only``): the articles are ordered by fused + W x (reading - leader's reading),
while ``Signals.score`` is the new top article's fused score and ``Signals.margin`` its
fused score minus the best fused score of the others (negative when the reading moved it
up past a higher fused score), so the reading can reorder but never adds confidence.
Candidates: ``mean`` with W in {0.2, 0.4} (``mean`` ranked better than ``min`` in every
row of round one). The same rule 1-6 against ``today``; the best by the same tie-breaks.
This is a second look at the same data, so its gain is discounted in the report: only
the test part, measured once after the decision, says whether it transfers.

Result of the second round (104 s):

| candidate | right first (of 377) | conf + right | conf + wrong | near conf (of 85) | tune first |
|---|---|---|---|---|---|
| today | 298 | 231 | 24 | 6 | 167 |
| order-only 0.2 | 306 | 233 | 27 | 6 | 171 |
| order-only 0.4 | 309 | 232 | 29 | 6 | 172 |

Still more confident mistakes (rule 2): an article promoted by its reading also reads the
question well by the decision's own reading signal, so it is often confident even with
a fused margin at or below zero (tune bil-008 "which subscription has auto away" now
confidently *Failed payment*; shp-002 and follow-up f-008, right before, now confidently
wrong). Nothing lands; the knob stays in `Weights` (``sibling``, default 0 = off) so this
bench reproduces. Rules 5 and 6 were therefore not measured.

THIRD ROUND (lead, written and committed before the batch below existed): the helper's
exploration after round two, "a leader that the reading changed is never confident"
(``order-only-0.2-nc``: order-only 0.2, and when its top article differs from today's the
customer gets the suggestions, that article first, instead of a confident answer). On the
pooled data above it gave right first 306 (+8), confident + right 230 (-1), confident +
wrong 24 (=), near misses 6 (=), but that was a third look at the same data. It is judged
once on a fresh batch written after this rule (`--batch /work/wt/dev3/fresh.yml`: 85
answerable, at least 30 of them between sibling articles, and 25 near misses; the writer
saw none of the other batches nor the labelled set), ``today`` against the candidate, and
lands only if on that batch:
  a. right article first gains >= 3 of 85;
  b. confident + right loses at most 1; confident + wrong is not higher; near misses
     confident are not higher; found (answer, "See also" or suggestions) is not lower;
  c. rules 4-6 above hold (the tune part loses at most 2 right-first; later turns lose at
     most 2 of 382; search p50 <= 20 ms).
Then `kb eval` once (tune and the single test-part figure) and StackFAQ for information.

Result of the third round (measured once, 24 s; 85 answerable, 25 near misses):

| fresh batch | right first | conf + right | conf + wrong | found | near conf |
|---|---|---|---|---|---|
| today | 67 | 54 | 2 | 76 | 6 / 25 |
| order-only-0.2-nc | 67 | 54 | 2 | 77 | 6 / 25 |

Rule a fails (no right-first gain on fresh wording; one question's right article now among
the suggestions): nothing lands. The +8 on the pooled data did not transfer.

Usage:
  HF_HUB_OFFLINE=1 .venv-actions/bin/python bench/sibling_reading.py [--cache DIR] [--show NAME]
      [--batch FILE --only today --only order-only-0.2-nc]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.calibration import ANSWER, DEFAULT_PATH, SUGGEST, Calibration  # noqa: E402
from knowledge.eval.dataset import load_questions  # noqa: E402
from knowledge.evaluation import calibrated_sample, engine  # noqa: E402
from knowledge.retrieval import DEFAULT_WEIGHTS  # noqa: E402

BATCHES = {
    "long": Path("/work/wt/dev/long-dev.yml"),
    "fresh": Path("/work/wt/dev2/long-fresh.yml"),
    "followup": Path("/work/wt/dev/followup-dev.yml"),
}
CANDIDATES = {
    "today": DEFAULT_WEIGHTS,
    **{
        f"{stat}-{w}": replace(DEFAULT_WEIGHTS, sibling=w, sibling_stat=stat)
        for stat in ("mean", "min")
        for w in (0.1, 0.2, 0.4)
    },
    **{
        f"order-only-{w}": replace(DEFAULT_WEIGHTS, sibling=w, sibling_stat="mean", sibling_order_only=True)
        for w in (0.2, 0.4)
    },
}
# Third round: order-only 0.2, and a leader the reading changed is never confident.
NEVER_CONFIDENT = {"order-only-0.2-nc": "order-only-0.2"}


def question_sets(batch: Path | None = None) -> dict[str, list]:
    keep = ("answerable", "near_miss")
    if batch is not None:
        return {"batch": [q for q in load_questions(batch) if q.kind in keep]}
    sets = {"tune": [q for q in load_questions() if q.part == "tune" and q.lang == "en" and q.kind in keep]}
    for name, path in BATCHES.items():
        sets[name] = [q for q in load_questions(path) if q.kind in keep]
    return sets


def run(kb, sets: dict[str, list], never_confident: bool = False) -> dict[tuple[str, str], dict]:
    """Each question as `kb eval` runs it; `never_confident`: a top article other than
    today's (the default weights') gets the suggestions instead of a confident answer."""
    out = {}
    weights = kb.retriever.weights
    for name, questions in sets.items():
        for q in questions:
            result = kb.search(q.q, list(q.history))
            ranking = result.article_ids()
            outcome = kb.outcome(result)
            if never_confident and outcome == ANSWER:
                kb.retriever.weights = DEFAULT_WEIGHTS
                if kb.search(q.q, list(q.history)).article_ids()[:1] != ranking[:1]:
                    outcome = SUGGEST
                kb.retriever.weights = weights
            if outcome == ANSWER:
                offered = set(ranking[:1]) | {s.article_id for s in kb.see_also(result, set(ranking[:1]))}
            elif outcome == SUGGEST:
                offered = {s.article_id for s in kb.suggestions(result)}
            else:
                offered = set()
            out[(name, q.id)] = {
                "kind": q.kind,
                "first": bool(ranking) and ranking[0] == q.article,
                "confident": outcome == ANSWER,
                "found": q.article in offered,
                "top": ranking[:1],
                "gold": q.article,
            }
    return out


def tally(rows: list[dict]) -> dict[str, int]:
    answerable = [r for r in rows if r["kind"] == "answerable"]
    near = [r for r in rows if r["kind"] == "near_miss"]
    return {
        "first": sum(r["first"] for r in answerable),
        "conf_right": sum(r["first"] and r["confident"] for r in answerable),
        "conf_wrong": sum(r["confident"] and not r["first"] for r in answerable),
        "found": sum(r["found"] for r in answerable),
        "near_conf": sum(r["confident"] for r in near),
        "answerable": len(answerable),
        "near": len(near),
    }


def line(t: dict[str, int]) -> str:
    return (
        f"first {t['first']:3d}/{t['answerable']}  conf+right {t['conf_right']:3d}  "
        f"conf+wrong {t['conf_wrong']:2d}  found {t['found']:3d}  near conf {t['near_conf']:2d}/{t['near']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, help="keep (and reuse) the sample index here")
    parser.add_argument("--show", action="append", default=[], help="list changes against today")
    parser.add_argument("--only", action="append", default=[], help="run only these candidates")
    parser.add_argument("--batch", type=Path, help="only this questions file (the third round's fresh batch)")
    args = parser.parse_args()
    from knowledge.embedding import default_embedder

    started = time.perf_counter()
    sets = question_sets(args.batch)
    embedder = default_embedder()
    with tempfile.TemporaryDirectory(prefix="sibling-bench-") as tmp:
        root = args.cache or Path(tmp)
        store, calibration, _ = calibrated_sample(
            embedder, root, Calibration.load(DEFAULT_PATH), states=True, reuse=True
        )
        kb = engine(store.uri, embedder, calibration)
        results = {}
        for name in args.only or [*CANDIDATES, *NEVER_CONFIDENT]:
            kb.retriever.weights = CANDIDATES[NEVER_CONFIDENT.get(name, name)]
            results[name] = run(kb, sets, never_confident=name in NEVER_CONFIDENT)
        kb.retriever.weights = DEFAULT_WEIGHTS
    base = results.get("today")
    for name, rows in results.items():
        pooled = tally(list(rows.values()))
        print(f"{name:10s} pooled {line(pooled)}")
        for part in sets:
            print(f"{'':10s} {part:8s} {line(tally([r for (p, _), r in rows.items() if p == part]))}")
        if base is not None and name in args.show:
            for key, r in rows.items():
                old = base[key]
                if (old["first"], old["confident"]) != (r["first"], r["confident"]):
                    print(
                        f"   {key[0]}:{key[1]} ({r['kind']}, {r['gold']}): "
                        f"{old['top']} conf={old['confident']} -> {r['top']} conf={r['confident']}"
                    )
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
