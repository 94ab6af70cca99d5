"""Does a greeting or a thank-you change the bot's decision? (issue 17, eleventh session)

Customers rarely type a bare question in chat: "hi team, how do i cancel my plan", "...
cheers", "sorry to bother you, ...". Each wrap word is a word no article has, so the
decision's weakest-word reading (`knowledge.reading`) drops and the sentence vector
drifts; on main `1730600` forty wraps written by someone outside the project took the tune
part's confident right answers from 38 of 64 bare questions to 888 of 2,560 wrapped ones
(docs/knowledge-quality.md, "a greeting or a thank-you is not part of the question").

This puts every wrap of a file (YAML, a list under `templates`, each with one `{q}`) around
a share of the tune part's standalone English questions (answerable and near misses,
every `--every`-th, in the set's order) and asks the real engine, extractive mode, on the
sample help centre indexed and calibrated as `kb eval` builds it. Per wrap and in total it
prints confident + right, confident + wrong, near misses answered confidently, and how
many wrapped questions get the same outcome as their bare form (the same confident
article, or no confident answer): a decision a greeting cannot move scores 100 %.

Wrap files are judges: keep them outside the repository and written by someone who has
not seen the change being judged (a file a change was tuned on can no longer judge it).

Usage:
  HF_HUB_OFFLINE=1 .venv-actions/bin/python bench/wrapped_questions.py --wraps /path/wraps.yml
      [--every 3] [--cache DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.calibration import ANSWER, DEFAULT_PATH, Calibration  # noqa: E402
from knowledge.eval.dataset import load_questions  # noqa: E402
from knowledge.evaluation import calibrated_sample, engine  # noqa: E402


def load_wraps(path: Path) -> list[str]:
    """The templates of a wrap file; each must hold `{q}` exactly once."""
    templates = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("templates")
    if not isinstance(templates, list) or not templates:
        raise SystemExit(f"{path}: expected a non-empty list under `templates`")
    for template in templates:
        if not isinstance(template, str) or template.count("{q}") != 1:
            raise SystemExit(f"{path}: each template needs exactly one {{q}}: {template!r}")
    return templates


def bare(question: str) -> str:
    """The question as a wrap expects it: lower case, no closing punctuation."""
    return re.sub(r"[?!.]+$", "", question.strip()).lower()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wraps", type=Path, required=True, help="YAML with a list under `templates`")
    parser.add_argument("--every", type=int, default=3, help="every n-th tune question (default 3)")
    parser.add_argument("--cache", type=Path, help="keep (and reuse) the sample index here")
    args = parser.parse_args()
    templates = load_wraps(args.wraps)
    from knowledge.embedding import default_embedder

    started = time.perf_counter()
    embedder = default_embedder()
    questions = [
        q
        for q in load_questions()
        if q.part == "tune" and q.lang == "en" and not q.history and q.kind in ("answerable", "near_miss")
    ][:: max(args.every, 1)]
    answerable = sum(q.kind == "answerable" for q in questions)
    near = len(questions) - answerable
    with tempfile.TemporaryDirectory(prefix="wrapped-bench-") as tmp:
        store, calibration, _ = calibrated_sample(
            embedder, args.cache or Path(tmp), Calibration.load(DEFAULT_PATH), states=True, reuse=True
        )
        kb = engine(store.uri, embedder, calibration)

        def decided(text: str) -> tuple[str, ...]:
            result = kb.search(text)
            return tuple(result.article_ids()[:1]) if kb.outcome(result) == ANSWER else ()

        plain = {q.id: decided(bare(q.q)) for q in questions}
        totals = [0, 0, 0, 0]
        for label, template in [("bare", "{q}"), *((t, t) for t in templates)]:
            right = wrong = near_confident = same = 0
            for q in questions:
                outcome = plain[q.id] if label == "bare" else decided(template.replace("{q}", bare(q.q)))
                same += outcome == plain[q.id]
                if q.kind == "near_miss":
                    near_confident += bool(outcome)
                elif outcome:
                    right += outcome == (q.article,)
                    wrong += outcome != (q.article,)
            if label != "bare":
                for i, value in enumerate((right, wrong, near_confident, same)):
                    totals[i] += value
            print(
                f"{label!r:50} confident + right {right}/{answerable}, wrong {wrong}, "
                f"near misses confident {near_confident}/{near}, same as bare {same}/{len(questions)}"
            )
    wrapped = len(questions) * len(templates)
    print(
        f"all {len(templates)} wraps: confident + right {totals[0]}/{answerable * len(templates)}, "
        f"wrong {totals[1]}, near misses confident {totals[2]}/{near * len(templates)}, "
        f"same outcome as bare {totals[3]}/{wrapped} ({totals[3] / max(wrapped, 1):.1%})"
    )
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
