"""Find the passages that answer a question: vector search fused with full-text search.

Vector search understands paraphrases; full-text search catches the exact product words
(error codes, "C-wire", plan names) that a small embedding model blurs. Both are pooled
per article, because a customer's question is answered by an article and an article's
evidence is spread over its chunks:

    article score = best chunk cosine
                  + TITLE_WEIGHT * cosine(question, article title)
                  + FTS_WEIGHT   * BM25 of the article's best chunk, min-max scaled over the candidates

Cosine stays the backbone (its scale means the same for every question); the title and
the lexical match are bounded bonuses that reorder close calls. The weights were chosen
on the project's own labelled questions (`knowledge/eval/questions.yml`, see README,
"Knowledge quality"), not on the benchmark that reports them.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

import numpy as np

from knowledge.config import RetrievalSettings
from knowledge.documents import Passage
from knowledge.reading import StoredStates, TokenStates, content_pieces, weakest_match
from knowledge.snapshot import MEMORY_MAX_ROWS, Snapshot, TableReader
from knowledge.spelling import EMPTY, Vocabulary, index_words, known_words
from knowledge.store import ChunkStore
from knowledge.thesaurus import expansions, thesaurus

log = logging.getLogger(__name__)

CANDIDATES = 20


@dataclass(frozen=True)
class Weights:
    """Bonuses added to an article's best chunk cosine (see the module docstring)."""

    title: float = 0.2
    heading: float = 0.0
    fts: float = 0.1
    # close siblings read word piece by word piece (`_sibling_reading`); 0 = off
    sibling: float = 0.0
    sibling_stat: str = "mean"
    sibling_gap: float = 0.08
    # the decision reads the fused scores (the reading reorders, never adds confidence)
    sibling_order_only: bool = False


DEFAULT_WEIGHTS = Weights()
MODES = ("hybrid", "vector", "fts")
# Where the thesaurus's help-centre words go (`knowledge.thesaurus`): "off", the full-text
# query only ("fts"), the embedded text only ("vector") or both ("both").
THESAURUS_MODES = ("off", "fts", "vector", "both")

_FOLLOW_UP = re.compile(
    r"\b(it|its|it's|that|this|those|these|they|them|there|then|same|also|too|else)\b"
    r"|^(and|but|what about|how about)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Signals:
    """What the answer/abstain decision looks at (see `knowledge.calibration`)."""

    score: float = 0.0  # the best article's score in the ranking's own scale
    cosine: float = 0.0  # the best article's best chunk cosine similarity
    margin: float = 0.0  # how far the best article is ahead of the runner-up
    # cosine(question, best article's title): a question that paraphrases the title is
    # strong evidence, and it is on the same scale for every knowledge base
    title: float = 0.0
    # best article's best-chunk cosine minus the best cosine any other article reaches:
    # a lead in meaning, free of the full-text bonus that `margin` includes
    cosine_gap: float = 0.0
    # cosine(question, heading path of the best article's best-matching section)
    heading: float = 0.0
    # the best article's BM25, min-max scaled over the candidates (1 = lexical winner)
    lexical: float = 0.0
    # how many of the vector-only and the full-text-only rankings also put it first (0-2)
    agreement: float = 0.0
    # share of the question's key terms found in the article's retrieved text
    coverage: float = 0.0
    # the weakest match of a question word piece in the article's retrieved chunks, in the
    # model's token states (`knowledge.reading`): low when one word has nothing there
    reading: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "score": self.score,
            "cosine": self.cosine,
            "margin": self.margin,
            "title": self.title,
            "cosine_gap": self.cosine_gap,
            "heading": self.heading,
            "lexical": self.lexical,
            "agreement": self.agreement,
            "coverage": self.coverage,
            "reading": self.reading,
        }


@dataclass(frozen=True)
class SearchResult:
    query: str  # what the customer asked (with the earlier turns, for a follow-up)
    passages: list[Passage]
    signals: Signals = field(default_factory=Signals)
    # what was searched: `query` with misspelt words mended (`knowledge.spelling`)
    searched: str = ""
    # the help-centre words the thesaurus added to the search (`knowledge.thesaurus`)
    expanded: tuple[str, ...] = ()

    @property
    def relevance(self) -> float:
        """Cosine similarity of the best article's best passage (0 when nothing was found)."""
        return self.signals.cosine

    def article_ids(self) -> list[str]:
        """Articles in rank order (a passage list holds each article's best chunk first)."""
        return list(dict.fromkeys(p.article_id for p in self.passages))


def build_query(question: str, history: Sequence[str], max_messages: int) -> str:
    """Fold recent user turns into a follow-up so "how long does that take?" has a topic.

    Only questions that look like follow-ups (short, or leaning on a pronoun) get the
    history: a fresh, self-contained question is searched as asked so an earlier topic
    cannot pull it off course.
    """
    question = question.strip()
    if max_messages <= 0 or not history:
        return question
    words = question.split()
    if len(words) > 12 or (len(words) > 6 and not _FOLLOW_UP.search(question)):
        return question
    recent = [h.strip() for h in history if h and h.strip()][-max_messages:]
    return " ".join([*recent, question])


def _fts_query(text: str) -> str:
    """Tantivy query syntax treats punctuation as operators; search plain words only."""
    return " ".join(re.findall(r"[\w']+", text)).replace("'", " ")


def _dot(values, vector: np.ndarray | None) -> float | None:
    if values is None or vector is None:  # full-text mode has no query vector
        return None
    return float(np.dot(np.asarray(values, dtype=np.float32), vector))


class Retriever:
    """Ranks articles for a question; `memory_max_rows=0` turns the in-memory copy off.

    Candidates come from an in-memory copy of a small table (see `knowledge.snapshot`
    for that decision) or from LanceDB; either way they are the same 20 nearest chunks
    plus the same 20 best full-text chunks, so the ranking does not depend on the path.
    """

    def __init__(
        self,
        store: ChunkStore,
        embedder,
        settings: RetrievalSettings,
        memory_max_rows: int = MEMORY_MAX_ROWS,
        weights: Weights = DEFAULT_WEIGHTS,
    ) -> None:
        self.weights = weights
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.reader = TableReader(store.uri, store.table_name, memory_max_rows) if memory_max_rows else None
        self._reader_warned = False
        self.token_states = TokenStates.shared(embedder)
        # this index's chunk states as `kb ingest` stored them, if this model wrote them
        self.stored_states = StoredStates(
            store, getattr(embedder, "model_name", None), getattr(embedder, "dimension", None)
        )
        self._question_states: dict[str, np.ndarray] = {}
        self._question_lock = threading.Lock()
        self.spelling = getattr(settings, "spelling", True)
        self._vocabulary: Vocabulary = EMPTY
        self._vocabulary_lock = threading.Lock()
        self._known_words: frozenset[str] | None = None
        self.thesaurus = getattr(settings, "thesaurus", "off")
        if self.thesaurus not in THESAURUS_MODES:
            raise ValueError(f"unknown thesaurus mode {self.thesaurus!r}; expected one of {THESAURUS_MODES}")
        self.thesaurus_file = getattr(settings, "thesaurus_file", "")
        # exploration only (bench/synonyms.py): keep expansion words the index never uses
        self.thesaurus_any_word = False

    @property
    def uses_vocabulary(self) -> bool:
        """Whether searches read the index's words (the spelling correction, the thesaurus)."""
        return self.spelling or self.thesaurus != "off"

    def expansions(self, text: str, vocabulary: Vocabulary | None = None) -> tuple[str, ...]:
        """The thesaurus's help-centre words for `text` that this index uses (none when off)."""
        if self.thesaurus == "off":
            return ()
        words = (self._vocabulary if vocabulary is None else vocabulary).counts
        counts = None if self.thesaurus_any_word else words
        return tuple(expansions(text, counts, thesaurus(self.thesaurus_file)))

    def search(
        self,
        question: str,
        history: Sequence[str] = (),
        limit: int | None = None,
        mode: str = "hybrid",
        spelling: bool = True,
    ) -> SearchResult:
        """Embed and search; the full-text query runs while the question is embedded.

        Misspelt words are mended first with the words of the index version searched last
        (`knowledge.spelling`); should the search find a newer version whose words mend
        the question differently (an ingestion in between), it is searched once more.
        `spelling=False` searches the words as typed: a question in another language than
        the articles' ("mein Konto") would otherwise be "mended" into English look-alikes,
        and gets no English thesaurus words either. The thesaurus (`knowledge.thesaurus`)
        reads the mended text and adds the help-centre words it finds to the full-text
        query and/or the embedded text (`RetrievalSettings.thesaurus`); the decision's
        key-term coverage still reads the customer's (mended) words alone.
        """
        limit = limit or self.settings.top_k
        query = build_query(question, history, self.settings.max_messages_in_query)
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; expected one of {MODES}")
        vocabulary = self._vocabulary if spelling else EMPTY
        searched = self.correct(query, vocabulary)
        extra = self.expansions(searched, vocabulary) if spelling else ()
        with_extra = f"{searched} {' '.join(extra)}" if extra else searched
        lexical = with_extra if self.thesaurus in ("fts", "both") else searched
        embedded = with_extra if self.thesaurus in ("vector", "both") else searched
        pending = self._start(lexical, mode)
        vector = states_of_question = None
        if mode != "fts" and hasattr(self.embedder, "embed_one_with_states"):
            # one pass gives the vector and the token states the reading signal needs
            vector, pieces, states = self.embedder.embed_one_with_states(embedded)
            states_of_question = _content_states(pieces, states)
        elif mode != "fts":
            vector = self.embedder.embed_one(embedded)
        rows, version, snapshot = self._fetch_versioned(lexical, vector, mode, pending)
        if self.uses_vocabulary and spelling:
            current = self._vocabulary_at(version, snapshot)
            if current is not vocabulary:
                mended = self.correct(query, current)
                if mended != searched or self.expansions(mended, current) != extra:
                    return self.search(question, history, limit, mode)
        result = self._score(searched, vector, rows, limit, mode, question=states_of_question)
        return replace(result, query=query, searched=searched, expanded=extra)

    def correct(self, text: str, vocabulary: Vocabulary | None = None) -> str:
        """`text` with misspelt words mended by the index's words (unchanged with spelling off)."""
        if not self.spelling:
            return text
        return (self._vocabulary if vocabulary is None else vocabulary).correct(text)

    def vocabulary(self) -> Vocabulary:
        """The index's words now (start-up builds it, so the first question does not)."""
        version = snapshot = None
        if self.reader is not None:
            try:
                version = self.reader.start(None, 0).result()[0]
                snapshot = self.reader.snapshot(version)
            except Exception as exc:  # noqa: BLE001 - the table is scanned instead
                log.info("in-memory copy unavailable for the index's words (%s)", exc)
        return self._vocabulary_at(version, snapshot)

    def _vocabulary_at(self, version: int | None, snapshot: Snapshot | None) -> Vocabulary:
        """The vocabulary of the table version a search just read (built once per version).

        From the in-memory copy when there is one; a table above the copy threshold (or a
        retriever without the copy) is scanned for its titles, headings and text.
        """
        if version is None:
            try:
                version = self.store.table.version
            except Exception:  # noqa: BLE001 - no table: nothing to mend with
                return self._vocabulary
        current = self._vocabulary
        if current.version == version:
            return current
        with self._vocabulary_lock:
            current = self._vocabulary
            if current.version == version:
                return current
            if self._known_words is None:
                self._known_words = known_words(self.embedder)
            if snapshot is not None and snapshot.version == version:
                rows = snapshot.rows
            else:
                try:
                    rows = self.store.table.to_arrow().select(["title", "section", "text"]).to_pylist()
                except Exception as exc:  # noqa: BLE001 - the question is searched as typed
                    log.warning("could not read the index's words for spelling (%s)", exc)
                    return current
            titles = {r.get("title") or "" for r in rows}
            sections = {r.get("section") or "" for r in rows}
            counts = index_words([*titles, *sections, *(r.get("text") or "" for r in rows)])
            self._vocabulary = Vocabulary(counts, self._known_words, version)
            return self._vocabulary

    def rank(self, query: str, vector: np.ndarray | None, limit: int, mode: str = "hybrid") -> SearchResult:
        """Rank with an already embedded query (the benchmark embeds once for all modes)."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; expected one of {MODES}")
        rows = self._fetch(query, vector, mode, self._start(query, mode))
        return self._score(query, vector, rows, limit, mode)

    def candidates(self, query: str, vector: np.ndarray | None) -> list[dict]:
        """The fused ranking's candidate chunks, to be ranked (and re-ranked) by `rescore`."""
        return self._fetch(query, vector, "hybrid", self._start(query, "hybrid"))

    def rescore(
        self,
        query: str,
        vector: np.ndarray | None,
        rows: list[dict],
        limit: int | None = None,
        weights: Weights | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> SearchResult:
        """Rank `candidates` output, optionally with other weights or some articles left out."""
        return self._score(query, vector, rows, limit or self.settings.top_k, "hybrid", weights, exclude)

    def rank_all(self, query: str, vector: np.ndarray, limit: int) -> dict[str, SearchResult]:
        """All three rankings from one vector and one full-text query (for `kb eval`).

        Each mode sees exactly the candidates its own `rank` call would fetch, so the
        results are the same; only the second and third round trips are saved.
        """
        rows = self._fetch(query, vector, "hybrid", self._start(query, "hybrid"))
        return {
            "hybrid": self._score(query, vector, rows, limit, "hybrid"),
            "vector": self._score(query, vector, [r for r in rows if r.get("_from_vector")], limit, "vector"),
            "fts": self._score(query, vector, [r for r in rows if r.get("_fts") is not None], limit, "fts"),
        }

    def _start(self, query: str, mode: str) -> Future | None:
        """Start the version check and full-text query on the reader, if it is in use.

        A table known to be above the copy threshold gets only the version check: its
        search runs through LanceDB, full-text query included.
        """
        if self.reader is None:
            return None
        skip_fts = mode == "vector" or self.reader.too_large()
        return self.reader.start(None if skip_fts else _fts_query(query), CANDIDATES)

    def _fetch(self, query: str, vector: np.ndarray | None, mode: str, pending: Future | None) -> list[dict]:
        return self._fetch_versioned(query, vector, mode, pending)[0]

    def _fetch_versioned(
        self, query: str, vector: np.ndarray | None, mode: str, pending: Future | None
    ) -> tuple[list[dict], int | None, Snapshot | None]:
        """The candidates, the table version they come from and its in-memory copy (if any);
        the version is None when LanceDB was asked directly without a version check."""
        version: int | None = None
        if pending is not None:
            try:
                version, hits = pending.result()
                snapshot = self.reader.snapshot(version)
                if snapshot is not None and hits is None and mode != "vector":
                    hits = self.reader.start(_fts_query(query), CANDIDATES).result()[1]  # shrank below
            except Exception as exc:  # noqa: BLE001 - LanceDB's own path below still answers
                # No table at all ends up as KnowledgeBaseMissing from the store below.
                if self.store.exists() and not self._reader_warned:
                    log.warning("in-memory search unavailable (%s); searching LanceDB directly", exc)
                    self._reader_warned = True
                snapshot = None
            if snapshot is not None:
                return self._fetch_memory(snapshot, hits or [], vector, mode), version, snapshot
        return self._fetch_lancedb(query, vector, mode), version, None

    def _fetch_memory(
        self, snapshot: Snapshot, hits: list[tuple[str, float]], vector: np.ndarray | None, mode: str
    ) -> list[dict]:
        """The candidates `_fetch_lancedb` finds, from the copy and the full-text hits."""
        rows: dict[str, dict] = {}
        if mode in ("hybrid", "vector"):
            for position, similarity in snapshot.nearest(vector, CANDIDATES):
                row = snapshot.row(position)
                row["_similarity"] = similarity
                row["_from_vector"] = True
                rows[row["chunk_id"]] = row
        if mode in ("hybrid", "fts"):
            for chunk_id, score in hits:
                existing = rows.get(chunk_id)
                if existing is None:
                    position = snapshot.positions.get(chunk_id)
                    if position is None:  # written after the copy was taken; the next search has it
                        continue
                    existing = rows[chunk_id] = snapshot.row(position)
                existing["_fts"] = float(score or 0.0)
        for row in rows.values():
            if row.get("_similarity") is None and vector is not None:
                row["_similarity"] = _dot(row.get("vector"), vector)
        return list(rows.values())

    def _fetch_lancedb(self, query: str, vector: np.ndarray | None, mode: str) -> list[dict]:
        """LanceDB's vector search (or ANN index) and full-text search, one after the other."""
        rows: dict[str, dict] = {}
        if mode in ("hybrid", "vector"):
            for row in self.store.vector_search(vector, CANDIDATES):
                row["_similarity"] = 1.0 - float(row["_distance"])
                row["_from_vector"] = True
                rows[row["chunk_id"]] = row
        if mode in ("hybrid", "fts"):
            for row in self.store.text_search(_fts_query(query), CANDIDATES):
                existing = rows.setdefault(row["chunk_id"], row)
                existing["_fts"] = float(row.get("_score", 0.0))
        for row in rows.values():
            if row.get("_similarity") is None and vector is not None:
                row["_similarity"] = _dot(row.get("vector"), vector)
        return list(rows.values())

    def _score(
        self,
        query: str,
        vector: np.ndarray | None,
        candidates: list[dict],
        limit: int,
        mode: str,
        weights: Weights | None = None,
        exclude: frozenset[str] = frozenset(),
        question: np.ndarray | None = None,
    ) -> SearchResult:
        """Rank the candidates' articles; `exclude` drops articles as if they were not indexed
        (leave-one-article-out calibration searches each question without its own article);
        `question`: the question's content token states, when the caller has them."""
        weights = weights or self.weights
        if exclude:
            candidates = [r for r in candidates if r["article_id"] not in exclude]
        if not candidates:
            return SearchResult(query=query, passages=[])
        rows = {r["chunk_id"]: r for r in candidates}
        articles: dict[str, list[dict]] = {}
        for row in rows.values():
            articles.setdefault(row["article_id"], []).append(row)
        best_cos = {a: max((r.get("_similarity") or 0.0) for r in rs) for a, rs in articles.items()}
        best_fts = {a: max((r.get("_fts") or 0.0) for r in rs) for a, rs in articles.items()}
        title_cos = {a: (_dot(rs[0].get("title_vector"), vector) or 0.0) for a, rs in articles.items()}
        heading_cos = {a: max(_heading_cos(r, vector) for r in rs) for a, rs in articles.items()}
        lo, hi = min(best_fts.values()), max(best_fts.values())
        lexical = {a: (best_fts[a] - lo) / (hi - lo) if hi > lo else 0.0 for a in articles}
        if mode == "vector":
            article_score = dict(best_cos)
        elif mode == "fts":
            article_score = dict(best_fts)
        else:
            article_score = {
                a: best_cos[a]
                + weights.title * title_cos[a]
                + weights.heading * heading_cos[a]
                + weights.fts * lexical[a]
                for a in articles
            }
        fused = article_score
        if mode == "hybrid" and weights.sibling and vector is not None:
            article_score = self._sibling_reading(query, articles, article_score, weights, question)

        def chunk_score(row: dict) -> float:
            # An article's best chunk carries the article's score; its other chunks fall
            # behind by how much weaker they are, so passages interleave across articles.
            a = row["article_id"]
            if mode == "fts":
                return row.get("_fts") or 0.0
            return article_score[a] - (best_cos[a] - (row.get("_similarity") or 0.0))

        passages = [
            Passage(
                chunk_id=row["chunk_id"],
                article_id=row["article_id"],
                title=row["title"],
                url=row["url"] or "",
                section=row["section"] or "",
                text=row["text"],
                score=float(chunk_score(row)),
                page=row.get("page"),
                vector_similarity=row.get("_similarity"),
                fts_score=row.get("_fts"),
            )
            for row in rows.values()
        ]
        passages.sort(key=lambda p: p.score, reverse=True)
        ranked = sorted(article_score.values(), reverse=True)
        top = passages[0].article_id
        if weights.sibling_order_only and fused is not article_score:
            rest = [s for a, s in fused.items() if a != top]
            ranked = [fused[top], max(rest)] if rest else [fused[top]]
        others = [c for a, c in best_cos.items() if a != top]
        by_vector = max(best_cos, key=best_cos.get)
        by_fts = max(best_fts, key=best_fts.get) if hi > 0 else None
        signals = Signals(
            score=ranked[0],
            cosine=best_cos[top],
            margin=ranked[0] - ranked[1] if len(ranked) > 1 else ranked[0],
            title=title_cos[top] if vector is not None else 0.0,
            cosine_gap=best_cos[top] - max(others) if others else best_cos[top],
            heading=heading_cos[top] if vector is not None else 0.0,
            lexical=lexical[top],
            agreement=float(by_vector == top) + float(by_fts == top),
            coverage=key_term_coverage(query, articles[top]),
            reading=self._reading(query, articles[top], question) if vector is not None else 0.0,
        )
        return SearchResult(query=query, passages=passages[:limit], signals=signals)

    def _sibling_reading(
        self,
        query: str,
        articles: dict[str, list[dict]],
        article_score: dict[str, float],
        weights: Weights,
        question: np.ndarray | None,
    ) -> dict[str, float]:
        """Close siblings reordered by how well their chunks read the question's word pieces.

        Exploration knob, off by default (`Weights.sibling` = 0): two sibling articles
        written in the same words score alike as whole vectors, so the articles within
        `sibling_gap` of the top one get W x (their reading - the leader's reading), the
        reading being the mean (or min) over the question's content word pieces of their
        best match in the article's candidate chunks (`knowledge.reading`). It put the
        right article first more often but made the decision confident of more wrong
        articles, so it did not land (bench/sibling_reading.py, docs/knowledge-quality.md).
        """
        if not self.token_states.available():
            return article_score
        top = max(article_score.values())
        close = [a for a, s in article_score.items() if s >= top - weights.sibling_gap]
        if len(close) < 2:
            return article_score
        if question is None:
            question = self._question_states_of(query)
        if not len(question):
            return article_score
        readings = {}
        for a in close:
            best = None
            for states in self.token_states.of_chunks(articles[a], self.stored_states):
                if len(states):
                    found = (question @ states.astype(np.float32).T).max(axis=1)
                    best = found if best is None else np.maximum(best, found)
            if best is None:
                readings[a] = 0.0
            else:
                readings[a] = float(best.mean() if weights.sibling_stat == "mean" else best.min())
        leader = max(close, key=article_score.get)
        return {
            a: s + weights.sibling * (readings[a] - readings[leader]) if a in readings else s
            for a, s in article_score.items()
        }

    def _question_states_of(self, query: str) -> np.ndarray:
        """The query's content token states, one model pass per query text (a small cache)."""
        with self._question_lock:
            question = self._question_states.get(query)
        if question is None:
            question = _content_states(*self.embedder.token_states(query))
            with self._question_lock:
                if len(self._question_states) > 64:
                    self._question_states.clear()
                self._question_states[query] = question
        return question

    def reading_of(self, text: str, passages: Sequence[Passage]) -> float:
        """The reading signal of `text` against these passages (one article's, usually).

        For a follow-up (`KnowledgeBase.search`): the question's own words read against the
        article the conversation's reading found, to compare with the article its own words
        found. One model pass over `text` (about 5 ms) unless it was read the same way just before.
        """
        rows = [
            {"chunk_id": p.chunk_id, "title": p.title, "section": p.section, "text": p.text} for p in passages
        ]
        return self._reading(text, rows, None) if rows else 0.0

    def read_on(self, result: SearchResult, words: str) -> SearchResult:
        """`result` with its top article's reading and key-term coverage taken on `words`.

        For a long message (`knowledge.asking`): the ranking stays the whole message's, but
        whether the top article answers is judged on the sentences that ask, so a story
        word no article mentions ("the lake", "my sister-in-law") does not count against it.
        One model pass over `words`; the ranking and the other signals are unchanged.
        """
        top = result.article_ids()[:1]
        passages = [p for p in result.passages if p.article_id in top]
        if not passages:
            return result
        mended = self.correct(words)
        rows = [{"title": p.title, "section": p.section, "text": p.text} for p in passages]
        signals = replace(
            result.signals,
            reading=self.reading_of(mended, passages),
            coverage=key_term_coverage(mended, rows),
        )
        return replace(result, signals=signals)

    def _reading(self, query: str, rows: list[dict], question: np.ndarray | None) -> float:
        """`knowledge.reading`: the question read against the top article's retrieved chunks.

        `search` hands over the question's states from the pass that embedded it. The
        paths that rank an already embedded query (`rank`, `rescore`: the evaluation and
        the calibration) compute them here, once per query text.
        """
        if not self.token_states.available():
            return 0.0
        if question is None:
            question = self._question_states_of(query)
        return weakest_match(question, self.token_states.of_chunks(rows, self.stored_states))


def _content_states(pieces: list[str], states: np.ndarray) -> np.ndarray:
    """The question's content word pieces (`knowledge.reading.content_pieces`)."""
    mask = content_pieces(pieces, STOP_WORDS)
    return states[mask] if mask.any() else states


def _heading_cos(row: dict, vector: np.ndarray | None) -> float:
    """Cosine to the chunk's heading path; the title stands in for tables without one."""
    if vector is None:
        return 0.0
    value = _dot(row.get("heading_vector"), vector)
    if value is None:
        value = _dot(row.get("title_vector"), vector)
    return value or 0.0


_WORD = re.compile(r"[a-z0-9]+")
# Words that carry no topic: a question's key terms are what is left.
STOP_WORDS = frozenset(
    """a about above after again all am an and any are as at be because been before being below
    between both but by can cannot could did do does doing don down during each few for from further
    get got had has have having he her here hers him his how i if in into is it its itself just let
    me more most my myself no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those through to
    too under until up very was we were what when where which while who whom why will with would you
    your yours yourself hi hello hey please thanks thank need want like know tell way ok okay still
    nimbus""".split()
) | frozenset(
    # Chat shorthand and contractions typed without an apostrophe: customers in Slack, Telegram
    # and SMS write "support phone number pls", and a word no article contains would be the
    # question's weakest match (`knowledge.reading`) and an uncovered key term.
    """pls plz thx ty tho rn asap btw lol ur ya yeah yep hmm um uh hiya whats hows wheres thats
    theres cant dont doesnt didnt isnt wont im ive youre""".split()
)


def key_terms(text: str) -> list[str]:
    """The question's content words, crudely stemmed (plural and -ing/-ed endings cut)."""
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in STOP_WORDS and len(w) > 1]


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def key_term_coverage(query: str, rows: list[dict]) -> float:
    """Share of the question's key terms found in the top article's retrieved text.

    A near-miss question ("pick my order up at the warehouse") resembles an article in
    meaning but names something the article never mentions; the share of its words the
    article actually contains tells the two apart where cosine cannot.
    """
    terms = set(key_terms(query))
    if not terms:
        return 1.0
    words: set[str] = set()
    for row in rows:
        words.update(
            key_terms(f"{row.get('title') or ''} {row.get('section') or ''} {row.get('text') or ''}")
        )
    prefixes = {w[:5] for w in words}
    found = sum(1 for t in terms if t in words or t[:5] in prefixes)
    return found / len(terms)
