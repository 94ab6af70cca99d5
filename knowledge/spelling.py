"""Mend a customer's misspelt words with the help centre's own words, before the search.

Customers type on phones: "shiping cost??", "thermstat wont conect to wifi". The small
embedding model splits a word it does not know into word pieces ("ship ##ing" is not what
"shi ##ping" gives), and the full-text search cannot match it at all, so one typo can move
a question to the wrong article or below the confident bar.

The correction only ever moves a word *towards the index's own vocabulary* (the words of
the indexed articles' titles, headings and text, counted when the index is loaded), so
it works for any customer's articles and can never introduce a word the articles do not
use. It is deliberately conservative, because a wrong correction is worse than none: a
near-miss question ("cancel my spotify subscription") whose foreign word were "mended"
into a help-centre word would look answerable. A word is left as typed when

* the index uses it (it is the customer's own product word);
* it is a real word (`known_words`): a whole word of the embedding model's vocabulary
  ("netflix", "alexa", "form": what the model reads whole is most likely meant as
  written), or one of the English words used at least once per million words on the web
  (wordfreq's "small" list, about 28,000 words: inflections the model splits, such as
  "mailing", and brands, such as "spotify"; common misspellings such as "recieve" and
  "shiping" stay below that bar). A rarer real word ("zigbee") is still protected by the
  distance rule below unless it is one edit from a help-centre word;
* it is short (fewer than `MIN_LENGTH` letters: "wont", "pls", "tv"), holds a digit,
  an apostrophe or another sign (codes like "W3", e-mail addresses, URLs, "wi-fi",
  "company's"), or mixes cases ("iPhone", "McAfee": names);
* no help-centre word that starts with the same letter is within `max_distance` edits
  (people rarely mistype a word's first letter, and the corrections that change it are
  the harmful ones: "unreplied" is not "replied", "preload" is not "reload") (one for words of up to seven
  letters, two from eight: a dropped, doubled, swapped or mistyped letter each count as
  one), or several are equally near and none is clearly the more used one (at least
  `DOMINANCE` times as frequent in the index).

The corrected text is what is searched (the embedding, the full-text query, the decision's
key-term and reading signals) and what the extractive answer scores sentences against; the
customer's words stay what the conversation records and what a language model is shown
(it reads typos well). See docs/knowledge-quality.md, "Typo tolerance".
"""

from __future__ import annotations

import functools
import logging
import re
from collections import Counter
from collections.abc import Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

log = logging.getLogger(__name__)

MIN_LENGTH = 5  # letters; shorter words are too ambiguous to mend (one edit is 20-50 % of them)
LONG_WORD = 8  # from this length two edits are allowed
DOMINANCE = 3.0  # a tie at the same distance is broken only by a clear frequency lead

_INDEX_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
_TOKEN = re.compile(r"\S+")
# A question token: optional leading/trailing punctuation around letters (with an
# apostrophe inside); anything else (digits, @, /, ., -) is not a word to mend.
_CORE = re.compile(r"^([\"'(\[¿¡]*)([A-Za-z]+)([\"')\].,;:!?…]*)$")


def max_distance(length: int) -> int:
    """Edits allowed for a word of `length` letters (0: never corrected)."""
    if length < MIN_LENGTH:
        return 0
    return 1 if length < LONG_WORD else 2


def index_words(texts: Iterable[str]) -> Counter[str]:
    """How often each word occurs in the articles' titles, headings and text (apostrophes dropped,
    so "doesn't" is known as "doesnt", the way customers type it)."""
    counts: Counter[str] = Counter()
    for text in texts:
        if text:
            counts.update(w.replace("'", "") for w in _INDEX_WORD.findall(text.lower()))
    return counts


def known_words(embedder) -> frozenset[str]:
    """Real words to leave as typed: the model's whole words and common English words."""
    return model_words(embedder) | common_words()


def model_words(embedder) -> frozenset[str]:
    """The whole words of the embedding model's vocabulary (empty when it has none)."""
    words = getattr(embedder, "whole_words", None)
    try:
        return frozenset(words()) if callable(words) else frozenset()
    except Exception:  # noqa: BLE001 - without it only the index and the distance rule protect
        return frozenset()


@functools.cache
def common_words() -> frozenset[str]:
    """English words used at least about once per million words (wordfreq's "small" list).

    The bar is the list's own: below it, web text is full of typos ("recieve" and "adress"
    are in wordfreq's larger list), so a rarer word is no evidence of a real one.
    """
    try:
        from wordfreq import get_frequency_dict
    except ImportError:  # the model's whole words and the distance rule still protect
        log.warning("wordfreq is not installed: the spelling correction knows fewer real words")
        return frozenset()
    return frozenset(w for w in get_frequency_dict("en", wordlist="small") if w.isascii() and w.isalpha())


class Vocabulary:
    """The help centre's words at one index version, and the corrections they allow."""

    def __init__(self, counts: Counter[str], known: frozenset[str] = frozenset(), version=None) -> None:
        self.version = version
        self.counts = counts
        self.known = known
        # Candidates: words long enough to be a correction's target (one edit from a
        # five-letter typo can be four letters long).
        by_length: dict[int, list[str]] = {}
        for word in counts:
            if len(word) >= MIN_LENGTH - 1:
                by_length.setdefault(len(word), []).append(word)
        self._by_length = by_length
        self._cache: dict[str, str | None] = {}

    def __len__(self) -> int:
        return len(self.counts)

    def correct_word(self, word: str) -> str | None:
        """The help-centre word meant by `word` (lower case), or None to leave it as typed."""
        if word in self._cache:
            return self._cache[word]
        found = self._correct(word)
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[word] = found
        return found

    def _correct(self, word: str) -> str | None:
        limit = max_distance(len(word))
        if not limit or word in self.counts or word in self.known:
            return None
        choices = [
            w
            for n in range(len(word) - limit, len(word) + limit + 1)
            for w in self._by_length.get(n, ())
            if w[0] == word[0]
        ]
        if not choices:
            return None
        near = process.extract(word, choices, scorer=OSA.distance, score_cutoff=limit, limit=None)
        if not near:
            return None
        best = min(distance for _, distance, _ in near)
        ranked = sorted((w for w, distance, _ in near if distance == best), key=lambda w: -self.counts[w])
        if len(ranked) > 1 and self.counts[ranked[0]] < DOMINANCE * self.counts[ranked[1]]:
            return None
        return ranked[0]

    def correct(self, text: str) -> str:
        """`text` with each misspelt word replaced by the help-centre word it means."""
        if not self.counts:
            return text
        changed = False
        parts: list[str] = []
        last = 0
        for token in _TOKEN.finditer(text):
            core = _CORE.match(token.group())
            if core is None:
                continue
            word = core.group(2)
            if not (word.islower() or word.istitle() or word.isupper()):
                continue  # "iPhone", "McAfee": a name
            meant = self.correct_word(word.lower())
            if meant is None:
                continue
            start = token.start() + core.start(2)
            parts.append(text[last:start])
            parts.append(meant.capitalize() if word[0].isupper() else meant)
            last = start + len(word)
            changed = True
        if not changed:
            return text
        parts.append(text[last:])
        return "".join(parts)


EMPTY = Vocabulary(Counter())

__all__ = ["EMPTY", "Vocabulary", "common_words", "index_words", "known_words", "max_distance", "model_words"]
