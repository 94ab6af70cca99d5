"""Does the support glossary point a non-English question to the right article, no model?

Without a model a Spanish, German, French or Portuguese question gets a reply in its own
language naming the nearest English articles, found by searching the English key words
of `knowledge/gloss.py` (`knowledge/glossary/{es,de,fr,pt}.yml`). This runs the real
engine (`KnowledgeBase.ask` with the question's language, extractive mode, the sample
index calibrated by itself as `kb ingest` does) on ONE part of the labelled non-English
questions and prints `kb eval`'s figure for it (right article named first / among the
named), with `--show` the questions missed and their key words.

Adoption rule, written and committed before the glossaries were widened (issue 18, seventh
session, branch i18-gloss7). Wider general customer-support vocabulary (synonyms,
colloquial forms, verb forms, accent-less and misspelt forms, customers' phrases; written
from knowledge of how customers talk, not from the evaluation questions) is adopted if,
measured with `kb eval` on the TUNE part against the baseline of the same tree:

1. non-English right-article-first does not drop (baseline 18/20);
2. right article among the named does not drop (baseline 20/20);
3. the English figures are unchanged (English never goes through the glossary).

The test part's figure is reported once at the end, never used to choose; the lead measures
the questions never seen before afterwards.

Usage:
  HF_HUB_OFFLINE=1 .venv-actions/bin/python bench/gloss_pointer.py [--part tune] [--cache DIR] [--show]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.calibration import DEFAULT_PATH, Calibration  # noqa: E402
from knowledge.config import SAMPLE_ARTICLES  # noqa: E402
from knowledge.evaluation import engine, self_calibrate, state_writer  # noqa: E402
from knowledge.gloss import gloss  # noqa: E402
from knowledge.ingest import ingest_folder  # noqa: E402
from knowledge.store import ChunkStore  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="tune", choices=["tune", "test"])
    parser.add_argument("--cache", default="/tmp/gloss-pointer", help="where the sample index is kept")
    parser.add_argument("--show", action="store_true", help="print the questions missed")
    args = parser.parse_args(argv)

    from knowledge.embedding import default_embedder
    from knowledge.eval.dataset import load_questions

    started = time.perf_counter()
    embedder = default_embedder()
    uri = str(Path(args.cache) / "sample")
    done = Path(args.cache) / "indexed"
    store = ChunkStore(uri, "chunks", embedding_model=getattr(embedder, "model_name", None))
    if not done.exists():
        ingest_folder(SAMPLE_ARTICLES, store, embedder.embed, states=state_writer(embedder))
        done.touch()
    calibration, _ = self_calibrate(store, embedder, Calibration.load(Path(DEFAULT_PATH)))
    kb = engine(uri, embedder, calibration)
    questions = [
        q
        for q in load_questions()
        if q.part == args.part and q.lang != "en" and q.article and q.kind == "answerable"
    ]
    first = named = 0
    for question in questions:
        answer = kb.ask(question.q, list(question.history or []), language=question.lang)
        articles = [s.article_id for s in answer.sources]
        first += articles[:1] == [question.article]
        named += question.article in articles
        if args.show and articles[:1] != [question.article]:
            print(f"MISS {question.id} [{question.lang}] {question.q!r}")
            print(f"     words: {gloss(question.q, question.lang)!r}")
            print(f"     want {question.article}, named {articles}")
    total = len(questions)
    print(
        f"non-English ({args.part} part, no model): right article first {first}/{total}, "
        f"among the named {named}/{total} ({time.perf_counter() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
