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

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from knowledge.config import RetrievalSettings
from knowledge.documents import Passage
from knowledge.store import ChunkStore

TITLE_WEIGHT = 0.2
FTS_WEIGHT = 0.1
CANDIDATES = 20
MODES = ("hybrid", "vector", "fts")

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

    def as_dict(self) -> dict[str, float]:
        return {
            "score": self.score,
            "cosine": self.cosine,
            "margin": self.margin,
            "title": self.title,
            "cosine_gap": self.cosine_gap,
        }


@dataclass(frozen=True)
class SearchResult:
    query: str
    passages: list[Passage]
    signals: Signals = field(default_factory=Signals)

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


def _dot(values, vector: np.ndarray) -> float | None:
    if values is None:
        return None
    return float(np.dot(np.asarray(values, dtype=np.float32), vector))


class Retriever:
    def __init__(self, store: ChunkStore, embedder, settings: RetrievalSettings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings

    def search(
        self,
        question: str,
        history: Sequence[str] = (),
        limit: int | None = None,
        mode: str = "hybrid",
    ) -> SearchResult:
        limit = limit or self.settings.top_k
        query = build_query(question, history, self.settings.max_messages_in_query)
        vector = self.embedder.embed_one(query) if mode != "fts" else None
        return self.rank(query, vector, limit, mode)

    def rank(self, query: str, vector: np.ndarray | None, limit: int, mode: str = "hybrid") -> SearchResult:
        """Rank with an already embedded query (the benchmark embeds once for all modes)."""
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; expected one of {MODES}")
        return self._score(query, vector, self._fetch(query, vector, mode), limit, mode)

    def rank_all(self, query: str, vector: np.ndarray, limit: int) -> dict[str, SearchResult]:
        """All three rankings from one vector and one full-text query (for `kb eval`).

        Each mode sees exactly the candidates its own `rank` call would fetch, so the
        results are the same; only the second and third round trips are saved.
        """
        rows = self._fetch(query, vector, "hybrid")
        return {
            "hybrid": self._score(query, vector, rows, limit, "hybrid"),
            "vector": self._score(query, vector, [r for r in rows if r.get("_from_vector")], limit, "vector"),
            "fts": self._score(query, vector, [r for r in rows if r.get("_fts") is not None], limit, "fts"),
        }

    def _fetch(self, query: str, vector: np.ndarray | None, mode: str) -> list[dict]:
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
        self, query: str, vector: np.ndarray | None, candidates: list[dict], limit: int, mode: str
    ) -> SearchResult:
        if not candidates:
            return SearchResult(query=query, passages=[])
        rows = {r["chunk_id"]: r for r in candidates}
        articles: dict[str, list[dict]] = {}
        for row in rows.values():
            articles.setdefault(row["article_id"], []).append(row)
        best_cos = {a: max((r.get("_similarity") or 0.0) for r in rs) for a, rs in articles.items()}
        best_fts = {a: max((r.get("_fts") or 0.0) for r in rs) for a, rs in articles.items()}
        if mode == "vector":
            article_score = dict(best_cos)
        elif mode == "fts":
            article_score = dict(best_fts)
        else:
            lo, hi = min(best_fts.values()), max(best_fts.values())
            article_score = {}
            for a, rs in articles.items():
                title = _dot(rs[0].get("title_vector"), vector) or 0.0
                lexical = (best_fts[a] - lo) / (hi - lo) if hi > lo else 0.0
                article_score[a] = best_cos[a] + TITLE_WEIGHT * title + FTS_WEIGHT * lexical

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
        others = [c for a, c in best_cos.items() if a != top]
        signals = Signals(
            score=ranked[0],
            cosine=best_cos[top],
            margin=ranked[0] - ranked[1] if len(ranked) > 1 else ranked[0],
            title=(_dot(articles[top][0].get("title_vector"), vector) or 0.0) if vector is not None else 0.0,
            cosine_gap=best_cos[top] - max(others) if others else best_cos[top],
        )
        return SearchResult(query=query, passages=passages[:limit], signals=signals)
