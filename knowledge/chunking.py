"""Heading-aware chunking with a size bound and a one-sentence overlap.

Chunks never straddle a heading, so each passage can be cited with the section it came
from. The bound keeps chunks inside the embedding model's 256-token window; the overlap
keeps a sentence that refers back ("This takes 5-10 days") next to what it refers to.
Chunk ids hash the chunk's own content, so an edit to one section of an article leaves
the ids of the other sections unchanged.
"""

from __future__ import annotations

import hashlib
import re

from knowledge.documents import Article, Chunk

MAX_CHARS = 900
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[*])")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def _pieces(text: str, max_chars: int) -> list[tuple[str, bool]]:
    """Paragraphs, or sentences of a paragraph too long to keep whole, or hard cuts.

    Each piece says whether it continues the line before it in the same block: a table or
    list too long for one chunk is cut between its lines, and the lines that stay together
    must stay one block (a table's rows joined by blank lines read as separate paragraphs,
    and the answer quoted "|---|---|---|" as a sentence). The line break is whitespace to
    the embedding model and the full-text index, so what retrieval sees is unchanged.
    """
    pieces: list[tuple[str, bool]] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            pieces.append((paragraph, False))
            continue
        lines = "\n" in paragraph
        first = True
        for sentence in split_sentences(paragraph) if not lines else paragraph.splitlines():
            sentence = sentence.strip()
            while len(sentence) > max_chars:
                cut = sentence.rfind(" ", 0, max_chars)
                cut = cut if cut > max_chars // 2 else max_chars
                pieces.append((sentence[:cut].strip(), lines and not first))
                first = False
                sentence = sentence[cut:].strip()
            if sentence:
                pieces.append((sentence, lines and not first))
                first = False
    return pieces


def _join(pieces: list[tuple[str, bool]]) -> str:
    text = ""
    for n, (piece, continues) in enumerate(pieces):
        text += ("" if n == 0 else "\n" if continues else "\n\n") + piece
    return text


def chunk_text(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    chunks: list[str] = []
    current: list[tuple[str, bool]] = []
    size = 0
    for piece, continues in _pieces(text, max_chars):
        if current and size + len(piece) + 2 > max_chars:
            chunks.append(_join(current))
            tail = split_sentences(current[-1][0])[-1:]
            overlap = tail[0] if tail and len(tail[0]) + len(piece) + 2 <= max_chars else None
            current = [(overlap, False)] if overlap and overlap != piece else []
            continues = continues and bool(current)  # the overlap is the line before it
            size = sum(len(p) + 2 for p, _ in current)
        current.append((piece, continues))
        size += len(piece) + 2
    if current:
        chunks.append(_join(current))
    return chunks


def chunk_article(article: Article, max_chars: int = MAX_CHARS) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for section in article.sections:
        for text in chunk_text(section.text, max_chars):
            digest = hashlib.sha1(
                f"{article.article_id}\x00{section.heading}\x00{section.page}\x00{text}".encode()
            ).hexdigest()[:16]
            count = seen.get(digest, 0)
            seen[digest] = count + 1
            chunk_id = f"{article.article_id}#{digest}" + (f"-{count}" if count else "")
            chunks.append(
                Chunk(
                    chunk_id=chunk_id,
                    article_id=article.article_id,
                    title=article.title,
                    url=article.url,
                    section=section.heading,
                    text=text,
                    page=section.page,
                    content_hash=article.content_hash,
                )
            )
    return chunks
