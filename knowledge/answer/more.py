"""Does a short answer leave out part of a longer one? (SMS's "Reply MORE" offer.)

The SMS answer is cut to 340 characters (`knowledge.budget`); the REST-budget answer to
the same question quotes whole sections. When the longer answer says something the
shorter one does not, the SMS reply offers the rest ("Reply MORE ...") and the customer
can have it in one longer message.
"""

from __future__ import annotations

import re
import unicodedata

from knowledge.answer.structure import to_plain

_HEADING_LINE = re.compile(r"^\s*\*\*[^*]+\*\*\s*$")
_MARKER = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_PUNCTUATION = str.maketrans({c: "-" for c in "‐‑‒–—―−"} | {c: "'" for c in "‘’ʼ"} | {c: '"' for c in "“”"})


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_PUNCTUATION).lower()
    return _SPACE.sub(" ", text).strip()


def pieces(markdown: str) -> list[str]:
    """The sentences, list items and table rows of an answer as a customer reads them,
    without its section headings (a heading alone tells the customer nothing more)."""
    body = "\n".join(line for line in markdown.split("\n") if not _HEADING_LINE.match(line))
    found: list[str] = []
    for line in to_plain(body).split("\n"):
        line = _MARKER.sub("", line).strip()
        found.extend(_normalise(p) for p in _SENTENCE_END.split(line) if _WORD.search(p))
    return found


def leaves_out(short: str, full: str) -> bool:
    """True when `full` has a sentence, list item or table row that `short` does not carry
    whole (a sentence the short answer shortened with "..." counts as left out)."""
    if not full.strip():
        return False
    have = "\n".join(pieces(short))
    return any(piece not in have for piece in pieces(full))


__all__ = ["leaves_out", "pieces"]
