"""Does a customer-support thesaurus (knowledge/thesaurus.py) find the article a customer means?

Customers name things in other words than the articles ("send it back" / return, "money
back" / refund, "stop paying" / cancel, "sign in" / log in, "package" / order). The
thesaurus (`knowledge/glossary/en.yml`, general support vocabulary written before any
measurement, never edited from this script's output) adds the help-centre words of the
question's customer words to the search. This runs the real engine
(`KnowledgeBase.search` and its three-way decision, extractive mode, the index calibrated
by itself as `kb ingest` does) on one part of the labelled English customer questions, as
written and as `bench/typo_tolerance.py`'s deterministic typo'd copy (the spelling
correction on, as shipped: it runs first), for each variant in the same run:

* off: today's search;
* fts: the help-centre words added to the full-text (BM25) query only;
* vector: added to the text that is embedded only;
* both: added to both;
* both-any: both, keeping also words the index never uses (the others keep only words
  the indexed articles use).

and prints, per variant: answerable R@1, confident + right, confident + wrong; near-miss
confident; off-topic confident; how many questions got any expansion.

Selection rule, written and committed before the first measurement (issue 17, seventh
session). A variant is adopted as the default (`RetrievalSettings.thesaurus`) only if,
on the TUNE part, against "off" in the same run:

1. clean answerable R@1 gains more than 3 of 212 questions (the project's noise rule);
2. clean confident + right does not drop, and confident + wrong rises by at most 1;
3. near-miss confident (of 50) and off-topic confident (of 10) do not rise, neither on
   the clean questions nor on the typo'd copy;
4. on the typo'd copy R@1 and confident + right fall by at most 1 question each;
5. search p50 stays <= 20 ms (`bench/retrieval_latency.py --rounds 1 --concurrency 0`).

Among variants that pass, the one with the largest clean R@1 gain wins (ties: more
confident + right, then the simpler in the order fts, vector, both, both-any). If none
passes, the default stays "off" and the numbers go to docs/knowledge-quality.md as
"tried, not landed". Only an adopted variant is then measured on the test part (`kb eval`,
once, with StackFAQ, which is measured and never used to choose).

Usage:
  HF_HUB_OFFLINE=1 .venv-actions/bin/python bench/synonyms.py [--part tune] [--cache DIR] [--show VARIANT]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.typo_tolerance import english_questions, figures, typo  # noqa: E402
from knowledge.calibration import DEFAULT_PATH, Calibration  # noqa: E402
from knowledge.evaluation import Record, calibrated_sample, engine, run_engine  # noqa: E402

VARIANTS = ("off", "fts", "vector", "both", "both-any")


def configure(kb, variant: str) -> None:
    retriever = kb.retriever
    retriever.thesaurus = "both" if variant == "both-any" else variant
    retriever.thesaurus_any_word = variant == "both-any"
    retriever.vocabulary()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("tune", "test"), default="tune")
    parser.add_argument("--cache", type=Path, help="keep the sample index here between runs")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--show", choices=VARIANTS, help="list the questions it changed")
    args = parser.parse_args()
    from knowledge.embedding import default_embedder

    started = time.perf_counter()
    embedder = default_embedder()
    with tempfile.TemporaryDirectory(prefix="synonyms-bench-") as tmp:
        root = args.cache or Path(tmp)
        store, calibration, _ = calibrated_sample(
            embedder, root, Calibration.load(DEFAULT_PATH), reuse=args.cache is not None
        )
        uri = store.uri
        questions = english_questions(args.part)
        typoed = [replace(q, q=typo(q.q)) for q in questions]
        print(f"{args.part} part: {len(questions)} English questions")
        variants = list(dict.fromkeys(["off", *args.variants]))
        results: dict[tuple[str, str], list[Record]] = {}
        expanded: dict[tuple[str, str], int] = {}
        for variant in variants:
            kb = engine(uri, embedder, calibration)
            configure(kb, variant)
            for name, chosen in (("clean", questions), ("typo'd", typoed)):
                results[name, variant] = run_engine(kb, chosen)
                expanded[name, variant] = sum(
                    bool(kb.retriever.expansions(kb.retriever.correct(q.q))) for q in chosen
                )
        columns = list(figures(results["clean", "off"]))
        header = "".join(f"{c:>21}" for c in columns)
        print(f"\n{'questions':<10}{'variant':<10}{header}{'expanded':>10}")
        for name in ("clean", "typo'd"):
            for variant in variants:
                row = figures(results[name, variant])
                cells = "".join(f"{f'{row[c][0]}/{row[c][1]}':>21}" for c in columns)
                print(f"{name:<10}{variant:<10}{cells}{expanded[name, variant]:>10}")
        if args.show:
            kb = engine(uri, embedder, calibration)
            configure(kb, args.show)
            for name, chosen in (("clean", questions), ("typo'd", typoed)):
                for q, a, b in zip(chosen, results[name, "off"], results[name, args.show], strict=True):
                    if (a.ranking[:1], a.outcome) != (b.ranking[:1], b.outcome):
                        extra = kb.retriever.expansions(kb.retriever.correct(q.q))
                        print(
                            f"[{name}] {q.kind:<10} {q.q!r} +{list(extra)}: "
                            f"{a.ranking[:1]} {a.outcome} -> {b.ranking[:1]} {b.outcome} (label {q.article})"
                        )
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
