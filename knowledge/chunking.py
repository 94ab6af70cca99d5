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


def _pieces(text: str, max_chars: int) -> list[str]:
    """Paragraphs, or sentences of a paragraph too long to keep whole, or hard cuts."""
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= max_chars:
            pieces.append(paragraph)
            continue
        for sentence in split_sentences(paragraph) if "\n" not in paragraph else paragraph.splitlines():
            sentence = sentence.strip()
            while len(sentence) > max_chars:
                cut = sentence.rfind(" ", 0, max_chars)
                cut = cut if cut > max_chars // 2 else max_chars
                pieces.append(sentence[:cut].strip())
                sentence = sentence[cut:].strip()
            if sentence:
                pieces.append(sentence)
    return pieces


def chunk_text(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for piece in _pieces(text, max_chars):
        if current and size + len(piece) + 2 > max_chars:
            chunks.append("\n\n".join(current))
            tail = split_sentences(current[-1])[-1:] if current else []
            overlap = tail[0] if tail and len(tail[0]) + len(piece) + 2 <= max_chars else None
            current = [overlap] if overlap and overlap != piece else []
            size = sum(len(p) + 2 for p in current)
        current.append(piece)
        size += len(piece) + 2
    if current:
        chunks.append("\n\n".join(current))
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
