"""Does the question name something the help centre never mentions?

"How do I change the email address on my Instagram account?" matches *Change your email
address* in every word but one, and that one is the whole question: it is about another
company's product. The decision's signals cannot see it (the brand reads about as well in
the article as a customer's own odd word does), so a customer got Nimbus's steps for
Instagram. What gives such a question away is how people write names: a capitalised word
inside a sentence. A name the articles use (Nimbus, PayPal, Visa, Canada) is the help
centre's own; one they never use, written as a name, is someone else's.

Names that are not products are left alone: places and times after a preposition ("ship to
Ohio", "in Portland", "at Home Depot", "on Saturday"), days, months and holidays, order and
serial numbers (digits), short acronyms ("UK", "VAT", "W3") and "I". A name typed in lower
case ("my spotify subscription") is not caught: customers write too many ordinary words the
articles never use for a lower-case word alone to mean anything (docs/knowledge-quality.md,
"a cap for words ...").
"""

from __future__ import annotations

import re
from collections.abc import Container

# Before a place or a time, a name is where or when, not whose product.
_PLACE_OR_TIME = frozenset("to in at from near on since until till by into via across around".split())
_CALENDAR = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday mondays tuesdays wednesdays thursdays
    fridays saturdays sundays january february march april may june july august september october
    november december jan feb mar apr jun jul aug sep sept oct nov dec christmas easter thanksgiving
    xmas""".split()
)
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’&+.-]*")
_FIRST_PERSON = re.compile(r"^I(?:['’][a-z]+)?$")
_LETTERS = re.compile(r"[a-z]+")
_POSSESSIVE = re.compile(r"['’]s$")
MAX_ACRONYM = 4


def _capitalised(word: str) -> bool:
    return word[0].isupper() and not _FIRST_PERSON.match(word)


def _unknown(word: str, vocabulary: Container[str]) -> bool:
    base = _POSSESSIVE.sub("", word.rstrip(".")).lower()
    if any(c.isdigit() for c in base) or (word.isupper() and len(word) <= MAX_ACRONYM):
        return False
    parts = _LETTERS.findall(base)
    return bool(parts) and not all(p in vocabulary or p in _CALENDAR for p in parts)


def unknown_names(question: str, vocabulary: Container[str]) -> tuple[str, ...]:
    """The capitalised words of `question` that name something `vocabulary` (the help
    centre's lower-case words) never contains, outside the cases the module leaves alone."""
    found: list[str] = []
    for sentence in _SENTENCES.split(question):
        tokens = _TOKEN.findall(sentence)
        i = 0
        while i < len(tokens):
            if not _capitalised(tokens[i]):
                i += 1
                continue
            end = i
            while end + 1 < len(tokens) and _capitalised(tokens[end + 1]):
                end += 1
            run, before = tokens[i : end + 1], (tokens[i - 1].lower() if i else None)
            i = end + 1
            if before in _PLACE_OR_TIME:
                continue
            words = run[1:] if before is None else run  # a sentence's first word is capitalised anyway
            found.extend(w for w in words if _unknown(w, vocabulary))
    return tuple(found)


__all__ = ["unknown_names"]
