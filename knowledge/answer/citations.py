"""Make a model's `[n]` markers trustworthy before a customer sees them.

Markers refer to the numbered passages in the prompt. Several passages can come from one
article, and the customer should see each article once, numbered in the order the answer
first cites it. Markers that point at no passage are invented and are removed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.documents import Passage, Source

# `[1]`, `[1, 3]`, `[1,3]`, `[1; 3]`; adjacent groups like `[1][3]` are matched one by one.
_MARKER = re.compile(r"\s?\[(\s*\d+(?:\s*[,;]\s*\d+)*\s*)\]")


@dataclass(frozen=True)
class CitedText:
    text: str
    sources: list[Source]

    @property
    def grounded(self) -> bool:
        return bool(self.sources)


def apply_citations(text: str, passages: Sequence[Passage]) -> CitedText:
    """Renumber markers by first appearance, per article; drop unknown ones."""
    by_article: dict[str, int] = {}
    sources: list[Source] = []

    def number_for(index: int) -> int | None:
        if not 1 <= index <= len(passages):
            return None
        passage = passages[index - 1]
        key = passage.url or passage.article_id
        if key not in by_article:
            by_article[key] = len(sources) + 1
            sources.append(
                Source(
                    number=by_article[key],
                    title=passage.title,
                    url=passage.url,
                    article_id=passage.article_id,
                    page=passage.page,
                )
            )
        return by_article[key]

    def replace(match: re.Match) -> str:
        numbers: list[int] = []
        for raw in re.split(r"[,;]", match.group(1)):
            number = number_for(int(raw))
            if number is not None and number not in numbers:
                numbers.append(number)
        if not numbers:
            return ""
        lead = " " if match.group(0).startswith(" ") else ""
        return lead + "".join(f"[{n}]" for n in numbers)

    rewritten = _MARKER.sub(replace, text)
    # A marker that collapses into its neighbour (`[1][1]`) is said once.
    rewritten = re.sub(r"(\[\d+\])(?:\1)+", r"\1", rewritten)
    rewritten = re.sub(r"[ \t]+([.,;:!?])", r"\1", rewritten)
    rewritten = re.sub(r"[ \t]{2,}", " ", rewritten).strip()
    return CitedText(text=rewritten, sources=sources)


def strip_citations(text: str) -> str:
    return _MARKER.sub("", text).strip()
