"""`kb eval`: what a customer gets, per part of the labelled questions and on StackFAQ.

Two question sets:

* the project's labelled customer questions (`knowledge/eval/`, see its dataset module)
  against the sample help centre, indexed with the real ingestion pipeline and decided
  by the real engine (`KnowledgeBase`: search, follow-up handling, the three outcomes).
  Every choice (fusion weights, signals, the calibration's shares) is made on the
  `tune` part; the `test` part is what the docs report.
* StackFAQ (Karan & Snajder 2018; read from a path, never copied into the project): each
  thread is one article (title = the original question, one section per answer), each
  paraphrase (`rephr`, "*" entries dropped) must find its thread. For the abstention task
  every thread whose position is 4 modulo 5 (25 of 125) is left out of the index; its
  paraphrases must not get a confident answer. The index calibrates itself exactly as a
  customer's would (`kb calibrate`: titles and headings, leave-one-article-out); nothing
  is fitted on StackFAQ.

Metrics are small functions over per-question `Record`s (see `METRICS`), so a new one
(e.g. "the answer contains the expected facts") is one more entry.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import yaml

from knowledge.calibration import (
    ANSWER,
    FEATURES,
    NEGATIVE_RATE,
    SUGGEST,
    Calibration,
    ProbeResult,
    curve,
    fit,
    probes_from_rows,
    run_probes,
    with_bars,
)
from knowledge.chunking import chunk_article
from knowledge.config import SAMPLE_ARTICLES, RetrievalSettings, Settings
from knowledge.documents import Article, Section
from knowledge.reading import StateWriter
from knowledge.retrieval import Retriever, Weights, build_query
from knowledge.store import ChunkStore, rows_for

LEGACY_QUESTIONS = Path(__file__).resolve().parent / "eval" / "questions.yml"
STACKFAQ_FILE = "stackExchange-FAQ.json"
HELD_OUT_MODULUS = 5
HELD_OUT_REMAINDER = 4
DEPTH = 10
PARTS = ("tune", "test")


# -- data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One labelled question, in the shape of `knowledge.eval.dataset.EvalQuestion`."""

    id: str
    q: str
    article: str | None
    kind: str  # answerable | near_miss | off_topic | handoff
    lang: str = "en"
    history: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    pair: str | None = None
    part: str = "tune"


def from_dataset(q) -> Question:
    """An `EvalQuestion` of the dataset module as the evaluation's `Question`."""
    return Question(
        id=str(q.id),
        q=q.q,
        article=q.article,
        kind=q.kind,
        lang=q.lang,
        history=tuple(q.history or ()),
        facts=tuple(q.facts or ()),
        pair=q.pair,
        part=q.part,
    )


def _legacy_part(text: str) -> str:
    return "tune" if int(hashlib.sha1(text.encode()).hexdigest(), 16) % 2 == 0 else "test"


def load_labelled(path: Path | None = None) -> list[Question]:
    """The labelled questions: the dataset module when present, else the older questions.yml."""
    try:
        from knowledge.eval.dataset import load_questions as load_dataset
    except ImportError:
        load_dataset = None
    if load_dataset is not None and (path is None or Path(path).name != LEGACY_QUESTIONS.name):
        return [from_dataset(q) for q in load_dataset(path)]
    data = yaml.safe_load(Path(path or LEGACY_QUESTIONS).read_text(encoding="utf-8"))
    return [
        Question(
            id=f"legacy-{i}",
            q=str(item["q"]),
            article=item.get("article") or None,
            kind="answerable" if item.get("article") else "near_miss",
            part=_legacy_part(str(item["q"])),
        )
        for i, item in enumerate(data["questions"])
    ]


@dataclass(frozen=True)
class Query:
    """A question's text and its article, for tools that only need question wording."""

    text: str
    gold: str | None


def load_questions(path: Path | None = None) -> list[Query]:
    """Every labelled question as plain text (benchmarks and tests use the wording only)."""
    return [Query(q.q, q.article) for q in load_labelled(path)]


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)]


def load_stackfaq(path: Path) -> tuple[list[Article], list[Question]]:
    """Threads as articles and their paraphrases as questions (all threads)."""
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
        for n, text in enumerate(_as_list(thread.get("rephr"))):
            if text.strip() and text.strip() != "*":
                queries.append(
                    Question(f"{article_id}/{n}", text.strip(), article_id, "answerable", part="test")
                )
    return articles, queries


def held_out(article_id: str) -> bool:
    """The fixed fifth of StackFAQ threads left out of the index for the abstention task."""
    return int(article_id.rsplit("-", 1)[1]) % HELD_OUT_MODULUS == HELD_OUT_REMAINDER


# -- records and metrics -----------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """What the engine did with one question."""

    question: Question
    ranking: tuple[str, ...]  # article ids, best first
    outcome: str  # answer | suggest | abstain
    suggestions: tuple[str, ...] = ()  # "these articles may help", or a confident answer's "See also"
    signals: dict[str, float] = field(default_factory=dict)
    answer_text: str = ""

    @property
    def right_first(self) -> bool:
        return bool(self.ranking) and self.ranking[0] == self.question.article

    @property
    def confident_right(self) -> bool:
        return self.outcome == ANSWER and self.right_first

    @property
    def found(self) -> bool:
        """The right article in the confident answer (quoted or under "See also") or suggested."""
        return self.confident_right or self.question.article in self.suggestions


@dataclass(frozen=True)
class Metric:
    name: str
    kinds: tuple[str, ...]  # the question kinds it is computed over
    value: Callable[[Record], bool]
    target: str = ""  # e.g. ">= 0.92", shown beside the figure
    only: Callable[[Record], bool] | None = None  # a further filter (e.g. sibling pairs)


def recall_at(rankings: Sequence[Sequence[str]], gold: Sequence[str], k: int) -> float:
    return float(np.mean([g in r[:k] for r, g in zip(rankings, gold, strict=True)])) if gold else 0.0


def mrr_at(rankings: Sequence[Sequence[str]], gold: Sequence[str], k: int = DEPTH) -> float:
    scores = [
        1.0 / (list(r[:k]).index(g) + 1) if g in r[:k] else 0.0 for r, g in zip(rankings, gold, strict=True)
    ]
    return float(np.mean(scores)) if scores else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else float("nan")


METRICS: list[Metric] = [
    Metric("answerable: right article first", ("answerable",), lambda r: r.right_first, ">= 0.92"),
    Metric(
        "answerable: right article in top 3", ("answerable",), lambda r: r.question.article in r.ranking[:3]
    ),
    Metric("answerable: confident + right article", ("answerable",), lambda r: r.confident_right, ">= 0.80"),
    Metric(
        "answerable: confident + wrong article",
        ("answerable",),
        lambda r: r.outcome == ANSWER and not r.right_first,
        "",
    ),
    Metric("answerable: right article answered or suggested", ("answerable",), lambda r: r.found, ">= 0.95"),
    Metric('answerable: "I don\'t know"', ("answerable",), lambda r: r.outcome not in (ANSWER, SUGGEST), ""),
    Metric(
        "sibling pairs: confident + right article",
        ("answerable",),
        lambda r: r.confident_right,
        "",
        only=lambda r: bool(r.question.pair),
    ),
    Metric(
        "follow-ups: right article first",
        ("answerable",),
        lambda r: r.right_first,
        "",
        only=lambda r: bool(r.question.history),
    ),
    Metric("near-miss: confident answer", ("near_miss",), lambda r: r.outcome == ANSWER, "<= 0.10"),
    Metric("near-miss: suggestions", ("near_miss",), lambda r: r.outcome == SUGGEST, ""),
    Metric("off-topic: no confident answer", ("off_topic",), lambda r: r.outcome != ANSWER, "= 1.00"),
    Metric('off-topic: "I don\'t know"', ("off_topic",), lambda r: r.outcome not in (ANSWER, SUGGEST), ""),
]


def compute(
    records: Sequence[Record], metrics: Sequence[Metric] = METRICS
) -> list[tuple[Metric, float | None, int]]:
    """(metric, share of its questions that pass, how many questions) for each metric."""
    rows = []
    for metric in metrics:
        chosen = [
            r for r in records if r.question.kind in metric.kinds and (metric.only is None or metric.only(r))
        ]
        value = float(np.mean([metric.value(r) for r in chosen])) if chosen else None
        rows.append((metric, value, len(chosen)))
    return rows


def meets(value: float | None, target: str) -> str:
    if value is None or not target:
        return ""
    op, bar = target.split()
    ok = value >= float(bar) - 1e-9 if op in (">=", "=") else value <= float(bar) + 1e-9
    return "ok" if ok else "MISSED"


def format_table(title: str, rows: list[tuple[Metric, float | None, int]]) -> str:
    width = max(len(m.name) for m, _, _ in rows) + 2
    lines = [title, f"{'metric':<{width}}{'value':>7}{'n':>6}  {'target':<9}", "-" * (width + 26)]
    for metric, value, n in rows:
        shown = f"{value:.3f}" if value is not None else "-"
        lines.append(
            f"{metric.name:<{width}}{shown:>7}{n:>6}  {metric.target:<9}{meets(value, metric.target)}"
        )
    return "\n".join(lines)


# -- running -----------------------------------------------------------------------------


def engine(uri: str, embedder, calibration: Calibration | None, table: str = "chunks"):
    """The real engine on an evaluation index, extractive mode, with the given calibration."""
    from knowledge.service import KnowledgeBase

    kb = KnowledgeBase(Settings(retrieval=RetrievalSettings(uri=uri, table=table)), embedder=embedder)
    kb.model = None  # extractive mode: the decision alone, as the targets are stated
    if calibration is not None:
        kb.settings = replace(kb.settings, retrieval=replace(kb.settings.retrieval, calibration="given"))
        kb.default_calibration = calibration
    return kb


def run_engine(kb, questions: Sequence[Question], answers: bool = False) -> list[Record]:
    """Each question through `KnowledgeBase.search` and the three-way decision.

    `answers=True` also runs `ask` for the answered ones (the extractive text), which a
    facts metric needs; it is slower and the decision is the same.
    """
    records = []
    for n, question in enumerate(questions, start=1):
        result = kb.search(question.q, question.history)
        outcome = kb.outcome(result)
        text = ""
        see_also: tuple[str, ...] = ()
        if answers and outcome == ANSWER:
            answer = kb.ask(question.q, question.history)
            outcome, text = ("suggest" if answer.method == "suggest" else outcome), answer.text
            see_also = tuple(s.article_id for s in answer.see_also)
        elif outcome == ANSWER:
            see_also = tuple(s.article_id for s in kb.see_also(result, set(result.article_ids()[:1])))
        suggestions = tuple(s.article_id for s in kb.suggestions(result)) if outcome == SUGGEST else see_also
        records.append(
            Record(
                question,
                tuple(result.article_ids()[:DEPTH]),
                outcome,
                suggestions,
                result.signals.as_dict(),
                text,
            )
        )
        if n % 250 == 0:
            print(f"  {n}/{len(questions)} questions", file=sys.stderr, flush=True)
    return records


def index_articles(
    articles: Sequence[Article],
    uri: str,
    embed: Callable,
    tables: dict[str, Callable],
    states: StateWriter | None = None,
) -> None:
    """Embed once, write one table per article filter (StackFAQ's two indexes).

    `states`: store the chunks' token states too (computed once, for the first table;
    the other tables' chunks are a subset with the same texts).
    """
    chunks = [c for a in articles for c in chunk_article(a)]
    paths = list(dict.fromkeys(c.heading_path for c in chunks))
    vectors = embed([c.search_text for c in chunks] + [a.title for a in articles] + paths)
    titles = {a.article_id: vectors[len(chunks) + i] for i, a in enumerate(articles)}
    headings = {p: vectors[len(chunks) + len(articles) + i] for i, p in enumerate(paths)}
    state_rows = None
    if states is not None:
        state_rows = states.table(
            [
                {
                    "chunk_id": c.chunk_id,
                    "article_id": c.article_id,
                    "title": c.title,
                    "section": c.section,
                    "text": c.text,
                }
                for c in chunks
            ]
        )
    for name, keep in tables.items():
        chosen = [i for i, c in enumerate(chunks) if keep(c.article_id)]
        store = ChunkStore(uri, name)
        store.drop()
        store.add_rows(rows_for([chunks[i] for i in chosen], vectors[chosen], titles, headings))
        if state_rows is not None:
            store.replace_states(state_rows.take(chosen))
        store.finish_writes()


def state_writer(embedder) -> StateWriter | None:
    """The chunks' token states stored at indexing, as `kb ingest` does (None: a stand-in model)."""
    model = getattr(embedder, "model_name", None)
    if model is None or not hasattr(embedder, "token_states"):
        return None
    return StateWriter(model, embedder.token_states)


def self_calibrate(
    store: ChunkStore, embedder, base: Calibration, deadline: float | None = None
) -> tuple[Calibration, list[ProbeResult]]:
    """What `kb calibrate` does: bars from the index's own titles and headings."""
    retriever = Retriever(store, embedder, RetrievalSettings(uri=store.uri, table=store.table_name))
    results = run_probes(retriever, embedder, probes_from_rows(store.headings()), deadline)
    return with_bars(base, results), results


def calibrate_in_budget(
    store: ChunkStore, embedder, base: Calibration, budget: float | None = None
) -> tuple[Calibration, list[ProbeResult], float]:
    """`self_calibrate` within `BUDGET_SECONDS` (or `budget`), as `kb ingest`, `kb calibrate`
    and `kb eval --articles` all run it, with the seconds it took for their reports.

    Raises ValueError when the index has too few articles to calibrate: the caller says so
    and the base calibration applies.
    """
    from knowledge.calibration import BUDGET_SECONDS

    started = time.monotonic()
    deadline = started + (budget if budget is not None else BUDGET_SECONDS)
    calibration, results = self_calibrate(store, embedder, base, deadline)
    return calibration, results, time.monotonic() - started


def format_curve(base: Calibration, results: Sequence[ProbeResult], records: Sequence[Record] = ()) -> str:
    """The calibration curve: confident share of leave-one-article-out searches vs. what is answered."""
    lines = [
        f"{'LOAO confident':>15}{'bar':>8}{'probes right':>14}"
        + (f"{'answerable: conf+right':>24}{'near-miss: confident':>22}" if records else "")
    ]
    for rate, bar, right in curve(base, results):
        line = f"{rate:>15.1%}{bar:>8.3f}{right:>14.1%}"
        if records:
            ans = [r for r in records if r.question.kind == "answerable"]
            near = [r for r in records if r.question.kind == "near_miss"]
            sure = [base.confidence(r.signals) >= bar and r.right_first for r in ans]
            line += f"{np.mean(sure) if ans else 0:>24.1%}"
            line += f"{np.mean([base.confidence(r.signals) >= bar for r in near]) if near else 0:>22.1%}"
        lines.append(line)
    return "\n".join(lines)


def fit_base(
    records: Sequence[Record], features: Sequence[str] = FEATURES, held: dict[str, float] | None = None
) -> Calibration:
    """Signal weights fitted on labelled questions (positives: confident would be right);
    `held`: weights kept as given (`knowledge.calibration.fit`)."""
    pos = [r.signals for r in records if r.question.kind == "answerable" and r.right_first]
    neg = [r.signals for r in records if r.question.kind != "handoff" and not r.right_first]
    return fit(pos, neg, features=features, fitted_on=FITTED_ON, held=held)


THRESHOLD_NOTE = (
    "weights fitted on the tune part; the bars here are the default for an index that has not been "
    "calibrated yet (`kb calibrate` / `kb ingest` store the index's own); nothing fitted on StackFAQ"
)
FITTED_ON = (
    "tune part of the labelled questions (knowledge/eval/), fused ranking on the sample articles; "
    "positive = top article is the labelled one, negative = a wrong top article or no article answers"
)


def calibrated_sample(
    embedder, workdir: Path, base: Calibration, states: bool = False, reuse: bool = False
) -> tuple[ChunkStore, Calibration, list[ProbeResult]]:
    """The sample help centre indexed under `workdir/sample` and given its own bars, as
    `kb ingest` leaves it: what `kb eval` and every bench script on the labelled questions
    start from. `states`: store the chunks' token states too; `reuse`: keep an index
    already there (a bench's `--cache`) instead of bringing it up to date.
    """
    from knowledge.ingest import ingest_folder

    model = getattr(embedder, "model_name", None)
    store = ChunkStore(str(workdir / "sample"), "chunks", embedding_model=model)
    if not (reuse and store.exists()):
        writer = state_writer(embedder) if states else None
        ingest_folder(SAMPLE_ARTICLES, store, embedder.embed, states=writer)
    calibration, probes = self_calibrate(store, embedder, base)
    return store, calibration, probes


def evaluate_sample(
    embedder, workdir: Path, base: Calibration, refit: bool = False, english_only: bool = True
):
    """Index the sample help centre, calibrate it as `kb ingest` would, decide every question.

    `refit` first fits the signal weights on the tune part (with bars from the index), then
    decides again with the refitted model; the test part plays no part in either.
    """
    store, calibration, probes = calibrated_sample(embedder, workdir, base, states=True)
    uri = store.uri
    questions = [q for q in load_labelled() if q.lang == "en" or not english_only]
    records = run_engine(engine(uri, embedder, calibration), questions)
    if refit:
        base = fit_base([r for r in records if r.question.part == "tune"], FEATURES)
        calibration = with_bars(base, probes)
        records = run_engine(engine(uri, embedder, calibration), questions)
    return calibration, probes, records


def evaluate_stackfaq(
    path: Path, embedder, workdir: Path, base: Calibration
) -> tuple[list[Record], list[Record], Calibration]:
    """Retrieval on all threads; the three outcomes with the held-out fifth left out."""
    articles, questions = load_stackfaq(path)
    uri = str(workdir / "stackfaq")
    index_articles(
        articles,
        uri,
        embedder.embed,
        {"all": lambda a: True, "answerable": lambda a: not held_out(a)},
        state_writer(embedder),
    )
    retrieval = run_engine(engine(uri, embedder, base, "all"), questions)
    held_store = ChunkStore(uri, "answerable")
    calibration, _ = self_calibrate(held_store, embedder, base)
    abstain_questions = [
        replace(q, kind="held_out", article=None) if held_out(q.article) else q for q in questions
    ]
    abstention = run_engine(engine(uri, embedder, calibration, "answerable"), abstain_questions)
    return retrieval, abstention, calibration


STACKFAQ_METRICS: list[Metric] = [
    Metric("answerable: confident + right thread", ("answerable",), lambda r: r.confident_right, ">= 0.85"),
    Metric("answerable: right thread answered or suggested", ("answerable",), lambda r: r.found, ">= 0.97"),
    Metric("held-out threads: confident answer", ("held_out",), lambda r: r.outcome == ANSWER, "<= 0.10"),
    Metric(
        'held-out threads: "I don\'t know"', ("held_out",), lambda r: r.outcome not in (ANSWER, SUGGEST), ""
    ),
]


def compare_retrieval(embedder, workdir: Path, out=print) -> None:
    """Fusion variants on the tune part: R@1 / R@3 / MRR of answerable questions.

    Field repetition in the full-text column needs its own index, so each repetition
    setting is ingested once; the weight variants re-rank the same candidates.
    """
    import knowledge.documents as documents
    from knowledge.ingest import ingest_folder

    questions = [q for q in load_labelled() if q.part == "tune" and q.kind == "answerable" and q.lang == "en"]
    queries = [build_query(q.q, q.history, RetrievalSettings().max_messages_in_query) for q in questions]
    vectors = embedder.embed(queries)
    gold = [q.article for q in questions]
    saved = documents.FTS_TITLE_REPEAT, documents.FTS_HEADING_REPEAT
    out(f"retrieval variants, tune part ({len(questions)} answerable English questions)")
    out(
        f"{'full-text fields (title x, heading x)':<40}{'weights (title, heading, fts)':<32}"
        f"{'R@1':>7}{'R@3':>7}{'MRR':>7}"
    )
    try:
        for repeat in ((1, 1), (2, 2), (3, 3)):
            documents.FTS_TITLE_REPEAT, documents.FTS_HEADING_REPEAT = repeat
            store = ChunkStore(str(workdir / f"cmp-{repeat[0]}-{repeat[1]}"), "chunks")
            ingest_folder(SAMPLE_ARTICLES, store, embedder.embed)
            retriever = Retriever(store, embedder, RetrievalSettings())
            rows = [retriever.candidates(q, v) for q, v in zip(queries, vectors, strict=True)]
            for weights in (
                Weights(0.2, 0.0, 0.1),
                Weights(0.2, 0.1, 0.1),
                Weights(0.2, 0.2, 0.1),
                Weights(0.1, 0.0, 0.3),
                Weights(0.1, 0.1, 0.3),
                Weights(0.0, 0.0, 0.0),
            ):
                rankings = [
                    retriever.rescore(q, v, r, limit=4 * DEPTH, weights=weights).article_ids()
                    for q, v, r in zip(queries, vectors, rows, strict=True)
                ]
                out(
                    f"{str(repeat):<40}{str((weights.title, weights.heading, weights.fts)):<32}"
                    f"{recall_at(rankings, gold, 1):>7.3f}{recall_at(rankings, gold, 3):>7.3f}"
                    f"{mrr_at(rankings, gold):>7.3f}"
                )
    finally:
        documents.FTS_TITLE_REPEAT, documents.FTS_HEADING_REPEAT = saved


def answer_check_report(kb) -> str:
    """Facts in the extractive answers at the REST and SMS budgets (knowledge/answer_check.py).

    One extra pass rather than one more metric in the tables: it asks per channel budget,
    checks follow-ups and languages too, and reports per part itself.
    """
    from knowledge.answer_check import report

    return report(kb)


# -- a team's own questions (`kb eval --questions FILE [--articles DIR]`) -------------------

WHOLE_FILE = "all"  # the one part of a questions file measured without `--split`


def article_ids(folder: Path) -> list[str]:
    """The slugs `kb ingest` gives the folder's readable articles, without embedding anything,
    so a questions file naming another slug is refused before the model loads."""
    from knowledge.loaders import UnreadableArticle, find_article_files, load_article

    root = Path(folder).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"articles folder not found: {root}")
    ids = []
    for path in find_article_files(root):
        try:
            ids.append(load_article(path, root).article_id)
        except UnreadableArticle:
            continue  # ingestion skips it too (and says so)
    return sorted(set(ids))


def load_questions_file(path: Path, articles: Sequence[str], split: bool = False) -> list[Question]:
    """A team's questions in the evaluation set's format, checked by the set's own loader and
    against the articles they will be asked of; one-line `ValueError`s naming the question.

    Without `split` every question is in one part (`WHOLE_FILE`): the file's writer did not
    make choices on any of it. With `split` the set's fixed hash rule applies.
    """
    import difflib

    from knowledge.eval.dataset import load_questions as load_dataset
    from knowledge.eval.dataset import load_siblings

    questions = [from_dataset(q) for q in load_dataset(path)]
    if not questions:
        raise ValueError("the `questions:` list is empty")
    known = set(articles)

    def unknown(slug: str, who: str) -> ValueError:
        near = difflib.get_close_matches(slug, sorted(known), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        return ValueError(f"{who}: article {slug!r} is not in the index ({len(known)} articles){hint}")

    for question in questions:
        if question.article is not None and question.article not in known:
            raise unknown(question.article, question.id)
    for pair in load_siblings(path):
        for slug in pair.articles:
            if slug not in known:
                raise unknown(slug, f"sibling pair {pair.name}")
    return questions if split else [replace(q, part=WHOLE_FILE) for q in questions]


def calibrated_folder(
    folder: Path, embedder, workdir: Path, base: Calibration, err=None
) -> tuple[ChunkStore, Calibration, str]:
    """A team's articles indexed into `workdir/articles` and calibrated as `kb ingest` leaves
    them (token states stored, self-calibration within `BUDGET_SECONDS`; too few articles to
    calibrate: the base calibration applies, as `kb calibrate` says). Returns a line on how.
    """
    from knowledge.ingest import ingest_folder

    err = err or (lambda line: print(line, file=sys.stderr))
    model = getattr(embedder, "model_name", None)
    store = ChunkStore(str(workdir / "articles"), "chunks", embedding_model=model)
    report = ingest_folder(Path(folder), store, embedder.embed, states=state_writer(embedder))
    for path, reason in report.failed:
        err(f"failed: {path}: {reason}")
    indexed = report.summary().removeprefix("articles: ")
    try:
        calibration, results, took = calibrate_in_budget(store, embedder, base)
    except ValueError as exc:
        return store, base, f"{indexed}; not calibrated ({exc}): the default calibration applies"
    return store, calibration, f"{indexed}; calibrated on {len(results)} questions in {took:.0f} s"


def format_misses(records: Sequence[Record], show_part: bool = False) -> str:
    """One line per question the customer was let down on: an answerable one without a
    confident right answer, a near miss or off-topic one answered confidently."""
    lines = [
        "misses (the English questions above: answerable without a confident right answer, "
        "near-miss or off-topic answered confidently)"
    ]
    for r in records:
        kind = r.question.kind
        if kind == "answerable" and r.confident_right:
            continue
        if kind in ("near_miss", "off_topic") and r.outcome != ANSWER:
            continue
        if kind not in ("answerable", "near_miss", "off_topic"):
            continue
        top = r.ranking[0] if r.ranking else "-"
        labelled = r.question.article or kind
        part = f"[{r.question.part}] " if show_part else ""
        text = r.question.q if len(r.question.q) <= 70 else r.question.q[:67] + "..."
        lines.append(f"  {part}{r.question.id}  {r.outcome}  top: {top}  labelled: {labelled}  {text!r}")
    if len(lines) == 1:
        lines.append("  none")
    return "\n".join(lines)


def main_questions(
    questions_path: Path,
    articles: Path | None,
    calibration_path: Path,
    split: bool = False,
    show_misses: bool = False,
    out=print,
    err=None,
) -> int:
    """`kb eval --questions FILE`: the metric table, the answer check and (optionally) the
    misses for a team's own questions, on the sample help centre exactly as plain `kb eval`
    indexes it, or on `articles` indexed and calibrated as `kb ingest` would. Exit code 2
    with one line naming the problem when the file or folder is not usable.
    """
    from knowledge.answer_check import report as answer_report

    err = err or (lambda line: print(line, file=sys.stderr))
    folder = Path(articles) if articles is not None else SAMPLE_ARTICLES
    try:
        slugs = article_ids(folder)
        if not slugs:
            raise FileNotFoundError(f"no readable articles in {folder}")
        questions = load_questions_file(Path(questions_path), slugs, split)
    except ValueError as exc:
        err(f"kb eval: {questions_path}: {exc}")
        return 2
    except OSError as exc:  # the folder (its own message) or the questions file
        err(
            f"kb eval: {exc}"
            if exc.filename is None
            else f"kb eval: cannot read {exc.filename}: {exc.strerror}"
        )
        return 2
    base = Calibration.load(calibration_path)
    if base is None or set(base.features) - set(FEATURES):
        err(f"kb eval: no usable base calibration at {calibration_path}")
        return 2
    from knowledge.embedding import default_embedder

    embedder = default_embedder()
    started = time.perf_counter()
    kinds = ", ".join(
        f"{k} {sum(q.kind == k for q in questions)}" for k in dict.fromkeys(q.kind for q in questions)
    )
    foreign = sum(q.lang != "en" for q in questions)
    out(f"questions: {questions_path}: {len(questions)} ({kinds}; {foreign} not in English)")
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        workdir = Path(tmp)
        if articles is None:
            store, calibration, _ = calibrated_sample(embedder, workdir, base, states=True)
            where = "sample help centre"
            out(
                f"articles: the sample help centre ({folder}), indexed and calibrated as plain `kb eval` does"
            )
        else:
            store, calibration, how = calibrated_folder(folder, embedder, workdir, base, err)
            where = folder.name or str(folder)
            out(f"articles: {folder} indexed into a temporary index: {how}")
        english = [q for q in questions if q.lang == "en"]
        records = run_engine(engine(store.uri, embedder, calibration), english)
        out(
            f"decision: logistic over {', '.join(calibration.features)}; confident when >= "
            f"{calibration.threshold:.3f}; 'I don't know' when best cosine < "
            f"{calibration.suggest_cosine:.3f}"
        )
        out(f"  bars: {calibration.bars_from}")
        for part in PARTS if split else (WHOLE_FILE,):
            chosen = [r for r in records if r.question.part == part]
            label = f"{part} part" if split else f"all questions of {Path(questions_path).name}"
            out("")
            out(format_table(f"== {where}, {label} ({len(chosen)} English questions) ==", compute(chosen)))
        out("")
        out(answer_report(engine(store.uri, embedder, calibration), questions))
        if show_misses:
            out("")
            out(format_misses(records, show_part=split))
    out(f"\n(total {time.perf_counter() - started:.0f} s)")
    return 0


def main(
    stackfaq: Path | None,
    do_calibrate: bool,
    calibration_path: Path,
    out=print,
    compare: bool = False,
) -> int:
    from knowledge.embedding import default_embedder

    embedder = default_embedder()
    started = time.perf_counter()
    base = Calibration.load(calibration_path)
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        workdir = Path(tmp)
        if compare:
            compare_retrieval(embedder, workdir, out)
            out("")
        refit = do_calibrate or base is None
        if base is None or set(base.features) - set(FEATURES):
            base = Calibration(FEATURES, (0.0,) * len(FEATURES), 0.0, 0.5)
        calibration, probes, records = evaluate_sample(embedder, workdir, base, refit)
        if refit:
            calibration = replace(calibration, threshold_note=THRESHOLD_NOTE)
            calibration.save(calibration_path)
            out(f"calibration written to {calibration_path}")
        base = calibration
        out(
            f"decision: logistic over {', '.join(calibration.features)}; confident when >= "
            f"{calibration.threshold:.3f}; 'I don't know' when best cosine < "
            f"{calibration.suggest_cosine:.3f}"
        )
        out(f"  bars: {calibration.bars_from}")
        for part in PARTS:
            chosen = [r for r in records if r.question.part == part]
            out("")
            out(
                format_table(
                    f"== sample help centre, {part} part ({len(chosen)} English questions) ==",
                    compute(chosen),
                )
            )
        out(f"\ncalibration curve (tune part; the shipped bar is the {NEGATIVE_RATE:.1%} row):")
        out(format_curve(calibration, probes, [r for r in records if r.question.part == "tune"]))
        out("")
        out(answer_check_report(engine(str(workdir / "sample"), embedder, calibration)))
        if stackfaq is not None:
            retrieval, abstention, sf_cal = evaluate_stackfaq(stackfaq, embedder, workdir, base)
            rankings = [r.ranking for r in retrieval]
            gold = [r.question.article for r in retrieval]
            out("")
            out(f"== StackFAQ ({len(retrieval)} paraphrases, 125 threads; measured, never used to choose) ==")
            out(
                f"retrieval, all threads indexed: R@1 {recall_at(rankings, gold, 1):.3f} (target >= 0.97), "
                f"R@5 {recall_at(rankings, gold, 5):.3f}, "
                f"MRR@10 {mrr_at(rankings, gold):.3f} (target >= 0.98)"
            )
            out(
                f"self-calibrated bars: confident >= {sf_cal.threshold:.3f}, "
                f"unrelated < {sf_cal.suggest_cosine:.3f}"
            )
            held = compute(abstention, STACKFAQ_METRICS)
            out(format_table("held-out fifth left out of the index:", held))
    out(f"\n(total {time.perf_counter() - started:.0f} s)")
    return 0
