"""The help centre's words for an English question in customer words, added to its search.

Customers and help centres name the same things differently: "send it back" is a
*return*, "money back" a *refund*, "stop paying" *cancelling*, "sign in" *logging in*,
"package" an *order*. The small embedding model places such paraphrases near several
sibling articles at once, and the full-text search finds none of the article's words, so
the sibling that happens to share the customer's other words wins. This vocabulary is the
same in every help centre, so a customer-support thesaurus (`knowledge/glossary/en.yml`,
in the per-language glossaries' format, `knowledge.gloss`) maps customer wording to the
words help centres use, and the search looks for those words too. Only an addition: the
question is always searched in its own words as well.

An expansion word is kept only when the indexed articles use it (the index's word counts,
`knowledge.spelling.index_words`): the thesaurus is written for every help centre, and a
word this one never uses could only add noise (to the embedding) or nothing (to BM25).
The thesaurus reads the question after the spelling correction (`knowledge.spelling`):
a typo is mended towards the articles' words first, then customer words that are spelt
right but are not the articles' get the articles' words beside them.

`KB_THESAURUS=0` turns it off (the question is then searched exactly as before);
`KB_THESAURUS_FILE` names a team's own YAML file in the same format, whose entries are
added to the packaged ones (and win on the same key). See docs/knowledge-quality.md,
"Customer words (seventh session)".
"""

from __future__ import annotations

import logging
import re
from collections.abc import Container
from functools import cache
from pathlib import Path

import yaml

from knowledge.gloss import GLOSSARY_DIR, Glossary, folded_words

log = logging.getLogger(__name__)

PACKAGED = GLOSSARY_DIR / "en.yml"
_INDEX_WORD = re.compile(r"[a-z]+")


class Thesaurus:
    """A glossary with its phrases filed under their first word (a question is read once)."""

    def __init__(self, glossary: Glossary) -> None:
        self.glossary = glossary
        by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for phrase, mapped in glossary.phrases:  # longest first, kept in that order
            by_first.setdefault(phrase[0], []).append((phrase, mapped))
        self.phrases = by_first

    def lookup(self, word: str) -> str | None:
        return self.glossary.lookup(word)


@cache
def thesaurus(extra: str = "") -> Thesaurus:
    """The packaged thesaurus, with a team's own file's entries (`extra`, a path) on top."""
    mapping = dict(yaml.safe_load(PACKAGED.read_text(encoding="utf-8")) or {})
    if extra:
        try:
            mapping.update(yaml.safe_load(Path(extra).read_text(encoding="utf-8")) or {})
        except (OSError, yaml.YAMLError, TypeError, ValueError) as exc:
            log.warning("could not read the thesaurus file %s (%s); using the packaged one", extra, exc)
    return Thesaurus(Glossary.from_mapping(mapping))


def expansions(
    text: str, index_words: Container[str] | None = None, table: Thesaurus | None = None
) -> list[str]:
    """The help-centre words the thesaurus adds to `text`, in order, without repeats.

    Words the question already has are not added again, and with `index_words` (the
    words the indexed articles use) only those are kept. A phrase match consumes its
    words, so "send it back" adds *return* and "back" is not looked up on its own.
    """
    table = table or thesaurus()
    _, words = folded_words(text)
    present = set(_INDEX_WORD.findall(" ".join(words)))
    found: list[str] = []
    i = 0
    while i < len(words):
        for phrase, mapped in table.phrases.get(words[i], ()):
            if tuple(words[i : i + len(phrase)]) == phrase:
                found.append(mapped)
                i += len(phrase)
                break
        else:
            mapped = table.lookup(words[i]) if words[i] else None
            if mapped is not None:
                found.append(mapped)
            i += 1
    out: list[str] = []
    for word in _INDEX_WORD.findall(" ".join(found).lower()):
        if word in present or word in out:
            continue
        if index_words is not None and word not in index_words:
            continue
        out.append(word)
    return out


__all__ = ["PACKAGED", "Thesaurus", "expansions", "thesaurus"]
