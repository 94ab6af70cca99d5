"""`kb eval`: retrieval and answer/abstain quality, measured side by side.

Two question sets:

* the project's own labelled questions (`knowledge/eval/questions.yml`) against the sample
  help centre, indexed with the real ingestion pipeline;
* StackFAQ (Karan & Snajder 2018; read from a path, never copied into the project):
  each thread is one article (title = the original question, one section per answer),
  each paraphrase (`rephr`, "*" entries dropped) is a query that must find its thread.
  For the abstention task every thread whose position in the file is 4 modulo 5 (25 of
  125) is left out of the index, and its paraphrases must be refused.

Each method answers from the same LanceDB table: vector search alone, full-text (BM25)
search alone, and the shipped fused ranking with the calibrated decision. Latency is the
wall time of one query: embedding (when the method needs it) plus the search.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml

from knowledge.calibration import FEATURES, Calibration, best_threshold, fit
from knowledge.chunking import chunk_article
from knowledge.config import SAMPLE_ARTICLES, RetrievalSettings
from knowledge.documents import Article, Section
from knowledge.retrieval import Retriever
from knowledge.store import ChunkStore, rows_for

QUESTIONS = Path(__file__).resolve().parent / "eval" / "questions.yml"
STACKFAQ_FILE = "stackExchange-FAQ.json"
HELD_OUT_MODULUS = 5
HELD_OUT_REMAINDER = 4
METHODS = ("vector", "fts", "hybrid")
METHOD_NAMES = {"vector": "vector only", "fts": "full-text only", "hybrid": "fused (shipped)"}
DEPTH = 10


@dataclass(frozen=True)
class Query:
    text: str
    gold: str | None  # article id that answers it; None when nothing in the index does


@dataclass
class Run:
    """One method's results on one query set."""

    rankings: list[list[str]] = field(default_factory=list)
    signals: list[dict[str, float]] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)


# -- data --------------------------------------------------------------------------------


def load_questions(path: Path = QUESTIONS) -> list[Query]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return [Query(str(item["q"]), item.get("article") or None) for item in data["questions"]]


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)]


def load_stackfaq(path: Path) -> tuple[list[Article], list[Query]]:
    """Threads as articles and their paraphrases as queries (all threads)."""
    file = Path(path)
    if file.is_dir():
        file = file / STACKFAQ_FILE
    threads = json.loads(file.read_text(encoding="utf-8"))["root"]["qapair"]
    articles, queries = [], []
    for index, thread in enumerate(threads):
        article_id = f"thread-{index:03d}"
        answers = [a.strip() for a in _as_list(thread.get("answer")) if a.strip()]
        sections = tuple(Section(heading=f"Answer {n}", text=a) for n, a in enumerate(answers, start=1))
        articles.append(Article(article_id, str(thread["question"]).strip(), "", sections))
        for text in _as_list(thread.get("rephr")):
            if text.strip() and text.strip() != "*":
                queries.append(Query(text.strip(), article_id))
    return articles, queries


def held_out(article_id: str) -> bool:
    """The fixed fifth of StackFAQ threads left out of the index for the abstention task."""
    return int(article_id.rsplit("-", 1)[1]) % HELD_OUT_MODULUS == HELD_OUT_REMAINDER


# -- metrics -----------------------------------------------------------------------------


def recall_at(rankings: Sequence[Sequence[str]], gold: Sequence[str], k: int) -> float:
    return float(np.mean([g in r[:k] for r, g in zip(rankings, gold, strict=True)])) if gold else 0.0


def mrr_at(rankings: Sequence[Sequence[str]], gold: Sequence[str], k: int = DEPTH) -> float:
    scores = [
        1.0 / (list(r[:k]).index(g) + 1) if g in r[:k] else 0.0 for r, g in zip(rankings, gold, strict=True)
    ]
    return float(np.mean(scores)) if scores else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


@dataclass(frozen=True)
class AbstainRates:
    answered_right: float  # answerable questions answered with the right article first
    answered_wrong: float  # answerable questions answered with another article first
    refused_answerable: float
    refused_unanswerable: float  # unanswerable questions refused (higher is better)


def abstain_rates(
    decisions: Sequence[bool], top1_right: Sequence[bool], answerable: Sequence[bool]
) -> AbstainRates:
    pos = [(d, r) for d, r, a in zip(decisions, top1_right, answerable, strict=True) if a]
    neg = [d for d, a in zip(decisions, answerable, strict=True) if not a]
    n_pos, n_neg = max(len(pos), 1), max(len(neg), 1)
    return AbstainRates(
        answered_right=sum(d and r for d, r in pos) / n_pos,
        answered_wrong=sum(d and not r for d, r in pos) / n_pos,
        refused_answerable=sum(not d for d, _ in pos) / n_pos,
        refused_unanswerable=sum(not d for d in neg) / n_neg,
    )


def tradeoff_curve(
    confidence: Sequence[float], top1_right: Sequence[bool], answerable: Sequence[bool], bars: Iterable[float]
) -> list[tuple[float, AbstainRates]]:
    return [(bar, abstain_rates([c >= bar for c in confidence], top1_right, answerable)) for bar in bars]


# -- running -----------------------------------------------------------------------------


def build_index(articles: Sequence[Article], uri: str, embed: Callable, tables: dict[str, Callable]) -> None:
    """Embed once, write one table per article filter (the benchmark's two indexes)."""
    chunks = [c for a in articles for c in chunk_article(a)]
    vectors = embed([c.search_text for c in chunks] + [a.title for a in articles])
    titles = {a.article_id: vectors[len(chunks) + i] for i, a in enumerate(articles)}
    for name, keep in tables.items():
        chosen = [i for i, c in enumerate(chunks) if keep(c.article_id)]
        store = ChunkStore(uri, name)
        store.drop()
        store.add_rows(rows_for([chunks[i] for i in chosen], vectors[chosen], titles))
        store.finish_writes()


def run_methods(
    store: ChunkStore,
    embedder,
    queries: Sequence[Query],
    vectors: dict[str, np.ndarray] | None = None,
    time_every: int = 1,
) -> dict[str, Run]:
    """Rank every query with every method.

    Every `time_every`-th query is timed as a customer would experience it (its own
    embedding call, then the search); the others reuse vectors embedded in one batch,
    which are the same vectors, to keep the run short.
    """
    retriever = Retriever(store, embedder, RetrievalSettings())
    runs = {m: Run() for m in METHODS}
    vectors = vectors if vectors is not None else {}
    timed = {q.text for q in queries[::time_every]} if time_every else set()
    missing = [q.text for q in queries if q.text not in vectors and q.text not in timed]
    if missing:
        vectors.update(zip(missing, embedder.embed(missing), strict=True))
    for n, query in enumerate(queries, start=1):
        embed_ms = None
        if query.text in timed:
            started = time.perf_counter()
            vectors[query.text] = embedder.embed_one(query.text)
            embed_ms = (time.perf_counter() - started) * 1000
        if embed_ms is None:
            results = retriever.rank_all(query.text, vectors[query.text], limit=4 * DEPTH)
        else:
            results = {}
            for method in METHODS:
                started = time.perf_counter()
                results[method] = retriever.rank(
                    query.text, vectors[query.text], limit=4 * DEPTH, mode=method
                )
                search_ms = (time.perf_counter() - started) * 1000
                runs[method].latencies_ms.append(search_ms + (embed_ms if method != "fts" else 0.0))
        for method, result in results.items():
            runs[method].rankings.append(result.article_ids()[:DEPTH])
            runs[method].signals.append(result.signals.as_dict())
        if n % 250 == 0:
            print(f"  {n}/{len(queries)} queries", file=sys.stderr, flush=True)
    return runs


@dataclass
class Report:
    title: str
    notes: list[str]
    retrieval: dict[str, Run]
    retrieval_queries: list[Query]
    abstention: dict[str, Run]
    abstention_queries: list[Query]
    extra_rows: list[tuple[str, float, float, float]] = field(default_factory=list)
    decision_notes: list[str] = field(default_factory=list)


def describe(calibration: Calibration) -> str:
    rule = (
        f"logistic over {', '.join(calibration.features)}; answer when confidence >= "
        f"{calibration.threshold:.3f}"
    )
    if calibration.cosine_floor is not None:
        rule += f" or best cosine >= {calibration.cosine_floor:.2f}"
    return rule


def decisions_for(method: str, run: Run, calibration: Calibration, vector_bar: float) -> list[bool]:
    if method == "hybrid":
        return [bool(r) and calibration.answers(s) for r, s in zip(run.rankings, run.signals, strict=True)]
    if method == "vector":
        return [bool(r) and s["cosine"] >= vector_bar for r, s in zip(run.rankings, run.signals, strict=True)]
    # BM25 scores are not comparable between queries: full-text answers whenever it matches.
    return [bool(r) for r in run.rankings]


def format_report(report: Report, calibration: Calibration, vector_bar: float) -> str:
    gold = [q.gold for q in report.retrieval_queries]
    answerable = [q.gold is not None for q in report.abstention_queries]
    lines = [f"== {report.title} ==", *report.notes, ""]
    header = (
        f"{'method':<26}{'R@1':>7}{'R@5':>7}{'MRR@10':>8}  {'answerable: right':>17}{'refused':>9}"
        f"  {'unanswerable: refused':>21}  {'p50 ms':>7}{'p95 ms':>7}"
    )
    lines += [header, "-" * len(header)]
    for name, r1, r5, mrr in report.extra_rows:
        lines.append(
            f"{name:<26}{r1:>7.3f}{r5:>7.3f}{mrr:>8.3f}  {'-':>17}{'-':>9}  {'-':>21}  {'-':>7}{'-':>7}"
        )
    for method in METHODS:
        run, arun = report.retrieval[method], report.abstention[method]
        pos = [i for i, g in enumerate(gold) if g is not None]
        ranks = [run.rankings[i] for i in pos]
        golds = [gold[i] for i in pos]
        right = [
            bool(r) and r[0] == q.gold for r, q in zip(arun.rankings, report.abstention_queries, strict=True)
        ]
        rates = abstain_rates(decisions_for(method, arun, calibration, vector_bar), right, answerable)
        lines.append(
            f"{METHOD_NAMES[method]:<26}{recall_at(ranks, golds, 1):>7.3f}{recall_at(ranks, golds, 5):>7.3f}"
            f"{mrr_at(ranks, golds):>8.3f}  {rates.answered_right:>17.1%}{rates.refused_answerable:>9.1%}"
            f"  {rates.refused_unanswerable:>21.1%}  {percentile(run.latencies_ms, 50):>7.1f}"
            f"{percentile(run.latencies_ms, 95):>7.1f}"
        )
    hybrid = report.abstention["hybrid"]
    right = [
        bool(r) and r[0] == q.gold for r, q in zip(hybrid.rankings, report.abstention_queries, strict=True)
    ]
    confidence = [
        calibration.confidence(s) if r else 0.0 for r, s in zip(hybrid.rankings, hybrid.signals, strict=True)
    ]
    shipped = abstain_rates(decisions_for("hybrid", hybrid, calibration, vector_bar), right, answerable)
    lines += [
        "",
        f"shipped decision ({describe(calibration)}):",
        f"  answerable: {shipped.answered_right:.1%} answered with the right article, "
        f"{shipped.answered_wrong:.1%} with a wrong one, {shipped.refused_answerable:.1%} refused; "
        f"unanswerable: {shipped.refused_unanswerable:.1%} refused",
        *report.decision_notes,
        "",
        f"answer/abstain trade-off, fused ranking (shipped bar: confidence >= {calibration.threshold:.3f})",
        f"{'confidence bar':>15}{'answerable: right':>19}{'answerable: wrong':>19}"
        f"{'unanswerable: refused':>23}{'worse of the two':>18}",
    ]
    bars = sorted({*np.round(np.arange(0.05, 1.0, 0.05), 2).tolist(), round(calibration.threshold, 3)})
    for bar, rates in tradeoff_curve(confidence, right, answerable, bars):
        mark = "  <- shipped" if bar == round(calibration.threshold, 3) else ""
        lines.append(
            f"{bar:>15.3f}{rates.answered_right:>19.1%}{rates.answered_wrong:>19.1%}"
            f"{rates.refused_unanswerable:>23.1%}"
            f"{min(rates.answered_right, rates.refused_unanswerable):>18.1%}{mark}"
        )
    lines += [
        "",
        "for comparison, a plain cosine bar on the best chunk "
        f"(vector-only baseline bar fitted on own questions: {vector_bar:.3f})",
        f"{'cosine bar':>15}{'vector: right':>16}{'refused unans.':>16}"
        f"{'fused: right':>16}{'refused unans.':>16}",
    ]
    cos_bars = sorted({*np.round(np.arange(0.3, 0.81, 0.05), 2).tolist(), round(vector_bar, 3)})
    curves = []
    for method in ("vector", "hybrid"):
        run = report.abstention[method]
        right_m = [
            bool(r) and r[0] == q.gold for r, q in zip(run.rankings, report.abstention_queries, strict=True)
        ]
        cosine = [s["cosine"] if r else 0.0 for r, s in zip(run.rankings, run.signals, strict=True)]
        curves.append(tradeoff_curve(cosine, right_m, answerable, cos_bars))
    for (bar, vec), (_, fused) in zip(*curves, strict=True):
        lines.append(
            f"{bar:>15.3f}{vec.answered_right:>16.1%}{vec.refused_unanswerable:>16.1%}"
            f"{fused.answered_right:>16.1%}{fused.refused_unanswerable:>16.1%}"
        )
    return "\n".join(lines)


def evaluate_own(embedder, workdir: Path, vectors: dict) -> Report:
    from knowledge.ingest import ingest_folder

    store = ChunkStore(str(workdir / "sample"), "chunks")
    ingest_folder(SAMPLE_ARTICLES, store, embedder.embed)
    queries = load_questions()
    runs = run_methods(store, embedder, queries, vectors)
    n_neg = sum(q.gold is None for q in queries)
    return Report(
        title="Own labelled questions (sample help centre)",
        notes=[
            f"{len(queries)} questions: {len(queries) - n_neg} answerable (retrieval metrics), "
            f"{n_neg} that no article answers; {store.count()} chunks from "
            f"{len(store.article_hashes())} articles.",
            "The answer/abstain decision is fitted on these same questions (in-sample; the "
            "leave-one-out line below is the out-of-sample estimate).",
        ],
        retrieval=runs,
        retrieval_queries=queries,
        abstention=runs,
        abstention_queries=queries,
    )


def evaluate_stackfaq(path: Path, embedder, workdir: Path) -> Report:
    articles, queries = load_stackfaq(path)
    uri = str(workdir / "stackfaq")
    build_index(
        articles, uri, embedder.embed, {"all": lambda a: True, "answerable": lambda a: not held_out(a)}
    )
    vectors: dict[str, np.ndarray] = {}
    retrieval = run_methods(ChunkStore(uri, "all"), embedder, queries, vectors, time_every=5)
    abstain_queries = [Query(q.text, None if held_out(q.gold) else q.gold) for q in queries]
    abstention = run_methods(ChunkStore(uri, "answerable"), embedder, abstain_queries, vectors, time_every=0)
    # The reference baseline: one vector per whole thread (truncated by the model).
    docs = embedder.embed([a.title + "\n" + "\n".join(s.text for s in a.sections) for a in articles])
    ids = [a.article_id for a in articles]
    qv = np.stack([vectors[q.text] for q in queries])
    whole = [[ids[i] for i in np.argsort(-row)[:DEPTH]] for row in qv @ docs.T]
    gold = [q.gold for q in queries]
    n_out = sum(held_out(a.article_id) for a in articles)
    return Report(
        title="StackFAQ",
        notes=[
            f"retrieval: {len(articles)} threads indexed ({ChunkStore(uri, 'all').count()} chunks), "
            f"{len(queries)} paraphrases must find their thread.",
            f"abstention: the {n_out} threads with index % {HELD_OUT_MODULUS} == {HELD_OUT_REMAINDER} "
            f"are left out of the index; their {sum(q.gold is None for q in abstain_queries)} paraphrases "
            f"must be refused, the other {sum(q.gold is not None for q in abstain_queries)} answered "
            "with their thread.",
            "Nothing was fitted on StackFAQ: fusion weights and the decision come from the own question set.",
        ],
        retrieval=retrieval,
        retrieval_queries=queries,
        abstention=abstention,
        abstention_queries=abstain_queries,
        extra_rows=[
            (
                "vector, 1 vector/thread",
                recall_at(whole, gold, 1),
                recall_at(whole, gold, 5),
                mrr_at(whole, gold),
            )
        ],
    )


def _split_for_fit(own: Report, method: str) -> tuple[list[dict], list[dict]]:
    """Positives: questions whose top-ranked article is the right one; negatives: the rest.

    The decision's job is "answer only when the top article answers the question", so a
    question ranked to the wrong article counts against answering just like one that no
    article answers.
    """
    run = own.abstention[method]
    pos, neg = [], []
    for ranking, signals, query in zip(run.rankings, run.signals, own.abstention_queries, strict=True):
        right = query.gold is not None and bool(ranking) and ranking[0] == query.gold
        (pos if right else neg).append(signals)
    return pos, neg


def fit_vector_bar(own: Report) -> float:
    """The vector-only baseline gets a cosine bar fitted the same way, on the same questions."""
    pos, neg = _split_for_fit(own, "vector")
    return best_threshold([s["cosine"] for s in pos], [s["cosine"] for s in neg])


FITTED_ON = (
    "knowledge/eval/questions.yml (fused ranking on the sample articles; positive = top article "
    "is the labelled one, negative = a wrong top article or a question no article answers)"
)
THRESHOLD_NOTE = (
    "threshold = best Youden's J on the same questions; no hand-set cosine floor; nothing "
    "fitted on StackFAQ (see README, 'Knowledge quality')"
)


def calibrate(own: Report, features: Sequence[str] = FEATURES) -> Calibration:
    pos, neg = _split_for_fit(own, "hybrid")
    fitted = fit(pos, neg, features=features, fitted_on=FITTED_ON)
    return replace(fitted, threshold_note=THRESHOLD_NOTE)


def cross_validated(own: Report, features: Sequence[str]) -> AbstainRates:
    """Leave-one-out: each own question decided by a model (and bar) fitted without it.

    The in-sample rates flatter a model fitted on the same questions; this is the
    estimate of how the fitting procedure does on a question it has not seen.
    """
    run, queries = own.abstention["hybrid"], own.abstention_queries
    right = [bool(r) and r[0] == q.gold for r, q in zip(run.rankings, queries, strict=True)]
    decisions = []
    for i in range(len(queries)):
        pos = [s for j, (s, ok) in enumerate(zip(run.signals, right, strict=True)) if ok and j != i]
        neg = [s for j, (s, ok) in enumerate(zip(run.signals, right, strict=True)) if not ok and j != i]
        decisions.append(bool(run.rankings[i]) and fit(pos, neg, features=features).answers(run.signals[i]))
    return abstain_rates(decisions, right, [q.gold is not None for q in queries])


def answer_check_report(uri: Path, embedder, calibration_path: Path) -> str:
    """Facts in the extractive answers at the REST and SMS budgets (knowledge/answer_check.py)."""
    from knowledge.answer_check import report
    from knowledge.config import Settings
    from knowledge.service import KnowledgeBase

    settings = Settings(retrieval=RetrievalSettings(uri=str(uri), calibration=str(calibration_path)))
    return report(KnowledgeBase(settings, embedder=embedder))


def main(stackfaq: Path | None, do_calibrate: bool, calibration_path: Path, out=print) -> int:
    from knowledge.embedding import default_embedder

    embedder = default_embedder()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        workdir = Path(tmp)
        own = evaluate_own(embedder, workdir, {})
        if do_calibrate:
            calibration = calibrate(own)
            calibration.save(calibration_path)
            out(f"calibration written to {calibration_path}")
        else:
            calibration = Calibration.load(calibration_path)
            if calibration is None:
                out(f"no calibration at {calibration_path}; run `kb eval --calibrate` first")
                return 2
        vector_bar = fit_vector_bar(own)
        loo = cross_validated(own, calibration.features)
        own.decision_notes.append(
            f"  leave-one-out (refit without each question, same features): {loo.answered_right:.1%} "
            f"answered right, {loo.refused_answerable:.1%} of answerable refused, "
            f"{loo.refused_unanswerable:.1%} of unanswerable refused"
        )
        out(
            f"decision: {calibration.features} weights {tuple(round(w, 3) for w in calibration.weights)} "
            f"bias {calibration.bias:.3f}, answer when confidence >= {calibration.threshold:.3f}; "
            f"vector-only baseline bar: cosine >= {vector_bar:.3f} (fitted the same way)\n"
        )
        out(format_report(own, calibration, vector_bar))
        out("")
        out(answer_check_report(workdir / "sample", embedder, calibration_path))
        if stackfaq is not None:
            out("")
            out(format_report(evaluate_stackfaq(stackfaq, embedder, workdir), calibration, vector_bar))
    out(f"\n(total {time.perf_counter() - started:.0f} s)")
    return 0
