"""`kb`: the support team's tool for the knowledge base (ingest, search, eval).

Needs no Rasa: it runs in the action server's environment and talks to LanceDB directly.
"""

from __future__ import annotations

import argparse
import logging
import sys
import textwrap
from pathlib import Path

from knowledge.config import SAMPLE_ARTICLES, RetrievalSettings, Settings


def _lazy_embed(texts):
    """Load the model only when something changed, so an up-to-date ingest is instant."""
    from knowledge.embedding import default_embedder

    return default_embedder().embed(texts)


def _lazy_token_states(text):
    """The reading signal's pass over a chunk (`knowledge.reading.StateWriter`), model loaded on need."""
    from knowledge.embedding import default_embedder

    return default_embedder().token_states(text)


def cmd_ingest(args: argparse.Namespace) -> int:
    from knowledge.embedding import configured_model
    from knowledge.ingest import ingest_folder
    from knowledge.reading import StateWriter
    from knowledge.store import ChunkStore

    settings = RetrievalSettings.from_env()
    uri = args.uri or settings.uri
    store = ChunkStore(uri, settings.table, embedding_model=configured_model())
    states = None if args.no_token_states else StateWriter(configured_model(), _lazy_token_states)
    try:
        report = ingest_folder(
            Path(args.path), store, _lazy_embed, show_progress=not args.quiet, states=states
        )
    except FileNotFoundError as exc:
        print(f"kb ingest: {exc}", file=sys.stderr)
        return 2
    for path, reason in report.failed:
        print(f"failed: {path}: {reason}", file=sys.stderr)
    print(f"{report.summary()} (index: {uri})")
    if (
        not args.no_calibrate
        and store.count()
        and (report.changed or store.calibration_fingerprint() != store.content_fingerprint())
    ):
        # The bars belong to these articles: recalibrate now, within a bounded time.
        calibrate_store(store, None)
    return 1 if report.failed and args.strict else 0


def cmd_search(args: argparse.Namespace) -> int:
    from knowledge.service import KnowledgeBase, KnowledgeBaseMissing

    kb = KnowledgeBase(Settings.from_env())
    try:
        result = kb.search(args.question)
    except KnowledgeBaseMissing as exc:
        print(f"kb search: {exc}", file=sys.stderr)
        return 2
    verdict = {"answer": "answer", "suggest": "suggest articles (unsure)", "abstain": "I don't know"}[
        kb.outcome(result)
    ]
    print(
        f"query: {result.query!r}"
        + (f" (searched as {result.searched!r})" if result.searched not in ("", result.query) else "")
        + f"\nconfidence {kb.confidence(result):.3f} "
        f"(bar {kb.decision_bar():.3f}; cosine {result.signals.cosine:.3f}, "
        f"margin {result.signals.margin:.3f}, title {result.signals.title:.3f}, "
        f"cosine gap {result.signals.cosine_gap:.3f}, reading {result.signals.reading:.3f}): {verdict}\n"
    )
    for rank, p in enumerate(result.passages[: args.limit], start=1):
        fts = f"{p.fts_score:.2f}" if p.fts_score is not None else "-"
        print(f"{rank}. score {p.score:.3f}  cosine {p.vector_similarity or 0:.3f}  bm25 {fts}")
        print(f"   {p.title} > {p.section}  {p.url}")
        print(textwrap.indent(textwrap.shorten(p.text, 300), "   "))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from knowledge.service import KnowledgeBase

    answer = KnowledgeBase(Settings.from_env()).ask(args.question)
    if answer.method == "abstain":
        print("I don't know (no article answers this well enough).")
        return 0
    if answer.method == "suggest":
        print("Not sure; these articles may help:")
        for s in answer.suggestions:
            print(f"- {s.title} {s.url}")
        return 0
    print(answer.text)
    for s in answer.sources:
        print(f"[{s.number}] {s.title} {s.url}")
    return 0


def _flags_given(args: argparse.Namespace, names: tuple[str, ...]) -> list[str]:
    return ["--" + name.replace("_", "-") for name in names if getattr(args, name)]


def cmd_eval(args: argparse.Namespace) -> int:
    from knowledge.calibration import DEFAULT_PATH
    from knowledge.evaluation import main as run_eval

    # Flags of the project's own evaluation and of a team's questions do not mix: a team's
    # questions are measured, never fitted on, and on their articles only.
    own = _flags_given(args, ("articles", "split", "show_misses"))
    if args.questions is None and own:
        print(f"kb eval: {' and '.join(own)} only go with --questions FILE", file=sys.stderr)
        return 2
    if args.questions is not None:
        ours = _flags_given(args, ("stackfaq", "calibrate", "compare"))
        if ours:
            print(f"kb eval: {', '.join(ours)} cannot be combined with --questions", file=sys.stderr)
            return 2
        from knowledge.evaluation import main_questions

        return main_questions(
            Path(args.questions),
            Path(args.articles) if args.articles else None,
            Path(args.calibration or DEFAULT_PATH),
            split=args.split,
            show_misses=args.show_misses,
        )
    stackfaq = Path(args.stackfaq) if args.stackfaq else None
    if stackfaq is not None and not stackfaq.exists():
        print(f"kb eval: StackFAQ not found at {stackfaq}", file=sys.stderr)
        return 2
    return run_eval(stackfaq, args.calibrate, Path(args.calibration or DEFAULT_PATH), compare=args.compare)


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Set the index's own bars (leave-one-article-out on its titles and headings) and store them."""
    from knowledge.store import ChunkStore

    settings = RetrievalSettings.from_env()
    store = ChunkStore(args.uri or settings.uri, settings.table)
    if not store.exists():
        print(f"kb calibrate: no index at {store.uri}; run `kb ingest` first", file=sys.stderr)
        return 2
    return calibrate_store(store, args.budget, show_curve=True)


def calibrate_store(store, budget: float | None, show_curve: bool = False) -> int:
    from knowledge.calibration import DEFAULT_PATH, Calibration
    from knowledge.embedding import default_embedder
    from knowledge.evaluation import calibrate_in_budget, format_curve

    settings = RetrievalSettings.from_env()
    base = Calibration.load(settings.calibration or DEFAULT_PATH)
    if base is None:
        print("kb calibrate: no base calibration (knowledge/calibration.json)", file=sys.stderr)
        return 2
    try:
        calibration, results, took = calibrate_in_budget(store, default_embedder(), base, budget)
    except ValueError as exc:  # too few articles to calibrate: the default applies
        print(f"kb calibrate: {exc}; the default calibration applies", file=sys.stderr)
        return 1
    store.save_calibration(calibration.to_json(), store.content_fingerprint())
    print(
        f"calibrated on {len(results)} questions in {took:.0f} s: confident when "
        f'>= {calibration.threshold:.3f}, "I don\'t know" below cosine {calibration.suggest_cosine:.3f} '
        f"(stored with the index at {store.uri})"
    )
    if show_curve:
        print(format_curve(calibration, results))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    ingest = sub.add_parser("ingest", help="ingest a folder of articles (incremental)")
    ingest.add_argument("path", nargs="?", default=str(SAMPLE_ARTICLES))
    ingest.add_argument("--uri", help="LanceDB URI (default: $KB_URI or .data/kb)")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.add_argument("--strict", action="store_true", help="exit 1 if any file failed")
    ingest.add_argument(
        "--no-calibrate", action="store_true", help="do not recalibrate the bars when articles changed"
    )
    ingest.add_argument(
        "--no-token-states",
        action="store_true",
        help="do not store the chunks' token states (the action server then computes them itself)",
    )
    ingest.set_defaults(func=cmd_ingest)
    search = sub.add_parser("search", help="show ranked passages for a question")
    search.add_argument("question")
    search.add_argument("--limit", type=int, default=5)
    search.set_defaults(func=cmd_search)
    ask = sub.add_parser("ask", help="answer a question as the bot would")
    ask.add_argument("question")
    ask.set_defaults(func=cmd_ask)
    ev = sub.add_parser("eval", help="measure retrieval and answer/abstain quality, side by side")
    ev.add_argument("--stackfaq", help="path to the StackFAQ folder (e.g. ../shared/datasets/stackfaq)")
    ev.add_argument(
        "--calibrate",
        action="store_true",
        help="fit the answer/abstain decision on the own labelled questions and write it first",
    )
    ev.add_argument("--calibration", help="calibration file (default: knowledge/calibration.json)")
    ev.add_argument(
        "--compare", action="store_true", help="first compare retrieval variants on the tune part"
    )
    ev.add_argument(
        "--questions",
        help="your own questions (the format of knowledge/eval/customer_questions.yml) instead of ours",
    )
    ev.add_argument(
        "--articles",
        help="with --questions: index this folder of articles (temporarily) instead of the sample",
    )
    ev.add_argument(
        "--split", action="store_true", help="with --questions: report the fixed tune/test parts separately"
    )
    ev.add_argument(
        "--show-misses",
        action="store_true",
        help="with --questions: list the questions not answered right (and the near misses answered)",
    )
    ev.set_defaults(func=cmd_eval)
    cal = sub.add_parser(
        "calibrate", help="set the index's own answer/suggest/don't-know bars and store them"
    )
    cal.add_argument("--uri", help="LanceDB URI (default: $KB_URI or .data/kb)")
    cal.add_argument("--budget", type=float, default=None, help="seconds to spend at most (default 120)")
    cal.set_defaults(func=cmd_calibrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
