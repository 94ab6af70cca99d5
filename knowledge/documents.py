"""The shapes that flow through ingestion and retrieval.

Kept free of LanceDB and model imports so loaders, chunking and citation code can be
tested (and reused by tools) without loading either.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Section:
    """A run of article text under one heading (or one PDF page)."""

    heading: str
    text: str
    page: int | None = None


@dataclass(frozen=True)
class Article:
    article_id: str
    title: str
    url: str
    sections: tuple[Section, ...]
    source_path: str = ""
    content_hash: str = ""


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    article_id: str
    title: str
    url: str
    section: str
    text: str
    page: int | None = None
    content_hash: str = ""

    @property
    def search_text(self) -> str:
        """Title and heading are searched with the body: questions often name the topic only."""
        parts = [self.title]
        if self.section and self.section != self.title:
            parts.append(self.section)
        parts.append(self.text)
        return "\n".join(parts)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the evidence for why it was retrieved."""

    chunk_id: str
    article_id: str
    title: str
    url: str
    section: str
    text: str
    score: float
    page: int | None = None
    vector_similarity: float | None = None
    fts_score: float | None = None


@dataclass(frozen=True)
class Source:
    """One cited article as the user sees it in the sources list."""

    number: int
    title: str
    url: str
    article_id: str
    page: int | None = None


@dataclass
class Answer:
    text: str
    sources: list[Source] = field(default_factory=list)
    grounded: bool = True
    method: str = "extractive"  # "llm", "extractive" or "abstain"
    passages: list[Passage] = field(default_factory=list)
