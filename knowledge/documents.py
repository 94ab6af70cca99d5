"""The shapes that flow through ingestion and retrieval.

Kept free of LanceDB and model imports so loaders, chunking and citation code can be
tested (and reused by tools) without loading either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# How many times the title and the section heading count against one body word in the
# full-text index (see `Chunk.fts_text`); chosen on the tuning part of the evaluation set.
FTS_TITLE_REPEAT = 1
FTS_HEADING_REPEAT = 1


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

    @property
    def heading_path(self) -> str:
        """Where the chunk sits ("Reset your password > The link expired"): embedded on its
        own, because a customer's question often paraphrases a heading, not the text under it."""
        if self.section and self.section != self.title:
            return f"{self.title} > {self.section}"
        return self.title

    @property
    def fts_text(self) -> str:
        """The full-text column: title and heading repeated so BM25 weighs them above body words.

        Repetition is the classic stand-in for field weights (BM25F) with a single-field
        index, and it keeps one index that LanceDB's full-text search handles alone.
        """
        parts = [self.title] * FTS_TITLE_REPEAT
        if self.section and self.section != self.title:
            parts += [self.section] * FTS_HEADING_REPEAT
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
    method: str = "extractive"  # "llm", "extractive", "suggest" or "abstain"
    passages: list[Passage] = field(default_factory=list)
    # "These articles may help" (method "suggest"): the nearest articles, best first.
    suggestions: list[Source] = field(default_factory=list)
    # A confident answer's "See also": articles that scored nearly as high as the one quoted
    # (siblings such as "Reset your password" / "Unlock a locked account"), so a customer
    # whose question the runner-up answers still finds it in one tap.
    see_also: list[Source] = field(default_factory=list)
    # On a channel with a small budget (SMS): the REST-budget answer to the same question
    # says something this one leaves out, so the reply offers it ("Reply MORE ...").
    more: bool = False
