"""Find the passages that answer a question: vector search fused with full-text search.

Vector search understands paraphrases; full-text search catches the exact product words
(error codes, "C-wire", plan names) that a small embedding model blurs. Candidates from
both are scored as cosine similarity plus a bounded bonus for lexical match, so the
full-text side can reorder close calls but never drag in a passage the embedding finds
unrelated. The answer/abstain decision uses the cosine similarity of the best passage,
a number with a stable meaning across questions (BM25 scores are not comparable
between queries).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from knowledge.config import RetrievalSettings
from knowledge.documents import Passage
from knowledge.store import ChunkStore

FTS_WEIGHT = 0.15
CANDIDATES = 20

_FOLLOW_UP = re.compile(
    r"\b(it|its|it's|that|this|those|these|they|them|there|then|same|also|too|else)\b"
    r"|^(and|but|what about|how about)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SearchResult:
    query: str
    passages: list[Passage]

    @property
    def relevance(self) -> float:
        """Best cosine similarity among the passages (0 when nothing was found)."""
        sims = [p.vector_similarity for p in self.passages if p.vector_similarity is not None]
        return max(sims) if sims else 0.0


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
        return SearchResult(query=query, passages=self.rank(query, limit, mode))

    def rank(self, query: str, limit: int, mode: str = "hybrid") -> list[Passage]:
        vector = self.embedder.embed_one(query)
        candidates: dict[str, dict] = {}
        if mode in ("hybrid", "vector"):
            for row in self.store.vector_search(vector, CANDIDATES):
                row["_similarity"] = 1.0 - float(row["_distance"])
                candidates[row["chunk_id"]] = row
        fts_rows = self.store.text_search(_fts_query(query), CANDIDATES) if mode in ("hybrid", "fts") else []
        top_fts = max((float(r.get("_score", 0.0)) for r in fts_rows), default=0.0)
        for row in fts_rows:
            existing = candidates.setdefault(row["chunk_id"], row)
            existing["_fts"] = float(row.get("_score", 0.0))
        passages = []
        for row in candidates.values():
            similarity = row.get("_similarity")
            if similarity is None and row.get("vector") is not None:
                similarity = float(np.dot(np.asarray(row["vector"], dtype=np.float32), vector))
            fts = row.get("_fts")
            lexical = (fts / top_fts) if (fts and top_fts) else 0.0
            if mode == "fts":
                score = lexical
            elif mode == "vector":
                score = similarity or 0.0
            else:
                score = (similarity or 0.0) + FTS_WEIGHT * lexical
            passages.append(
                Passage(
                    chunk_id=row["chunk_id"],
                    article_id=row["article_id"],
                    title=row["title"],
                    url=row["url"] or "",
                    section=row["section"] or "",
                    text=row["text"],
                    score=float(score),
                    page=row.get("page"),
                    vector_similarity=similarity,
                    fts_score=fts,
                )
            )
        passages.sort(key=lambda p: p.score, reverse=True)
        return passages[:limit]
