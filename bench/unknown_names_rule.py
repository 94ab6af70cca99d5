"""Words in a question that name something the help centre never mentions (bench only).

The rule `bench/unknown_names.py` measured, and which was not adopted: it lives only here,
for that bench; the product (`knowledge/`) holds no trace of it.

"cancel my spotify subscription" reads, word for word, like *Change or cancel your plan*:
every word but one is the article's, so every similarity signal says "answer". The one
word that is not is the point of the question. A word the articles never use is not
enough evidence on its own: customers paraphrase ("stop paying", "money back"), and 39 %
of the answerable tune questions hold a word the help centre never uses. What sets
"spotify" apart is that it is *specific*: a real word, but an uncommon one (a name, a
brand, a technical term), so the customer means that thing and no paraphrase of it.

A specific word here is a question word that

* the index never uses, nor a plural / -ing / -ed form of it ("subscriptions" is the
  articles' "subscription"), and
* has a Zipf frequency (wordfreq, log10 of uses per billion words) within `band`: high
  enough to be a real word (a misspelling the correction could not mend scores about 0),
  low enough not to be everyday wording (stop 5.5, money 5.6, paying 4.8).

Optionally (`unknown_strings`) a word of at least five letters that wordfreq does not
know at all counts too: after the spelling correction (`knowledge.spelling`) such a word
is one it could not mend, most often a misspelt name ("soptify").

The bench caps the engine's decision with it (`bench.unknown_names.capped`): a confident
answer becomes suggestions when the question holds such a word, never "I don't know" for
that reason alone (the articles are still the nearest the help centre has).

Measured on the tune part (docs/knowledge-quality.md, seventh session), "uncommon and
absent from the index" turned out to be mostly paraphrase wording too ("login", "yearly",
"parcel", "postage"): every band cost 16-35 answerable confident + right answers of 212
for 1-2 fewer confident near misses; the tune part's near misses that name an outside
thing were already not answered confidently.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass

log = logging.getLogger(__name__)

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")
MIN_LETTERS = 3  # "tv", "pc", "uk": too short to tell a name from an abbreviation
UNKNOWN_MIN_LETTERS = 5  # the spelling correction's own bar: shorter strings are left alone
REAL_WORD = 1.5  # Zipf: below this wordfreq's large list is mostly typos and fragments


@dataclass(frozen=True)
class NameRule:
    """Which question words count as naming something the articles do not cover."""

    low: float = REAL_WORD
    high: float = 4.0
    unknown_strings: bool = False

    @property
    def label(self) -> str:
        return f"band-{self.low:g}-{self.high:g}" + ("+unknown" if self.unknown_strings else "")


def fold(word: str) -> str:
    """A crude stem, applied alike to question and index words: plural, -ing, -ed, final e."""
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith(("sses", "xes", "zes", "ches", "shes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 4 and w.endswith("ed"):
        w = w[:-2]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]  # "shipp" from "shipping"
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


_last_index: tuple[object, frozenset[str]] | None = None


def _folded(words: Collection[str]) -> frozenset[str]:
    """The folded index words, kept for the last vocabulary seen (one per index version)."""
    global _last_index
    last = _last_index
    if last is not None and last[0] is words:
        return last[1]
    folded = frozenset(fold(w) for w in words)
    _last_index = (words, folded)
    return folded


@functools.lru_cache(maxsize=1)
def _zipf():
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # without word frequencies nothing counts as specific
        log.warning("wordfreq is not installed: unknown names are not detected")
        return None
    return zipf_frequency


@functools.lru_cache(maxsize=16384)
def zipf(word: str) -> float:
    """wordfreq's Zipf frequency of an English word (0 when unknown or wordfreq is missing)."""
    frequency = _zipf()
    return float(frequency(word, "en")) if frequency is not None else 0.0


def candidates(text: str, rule: NameRule) -> list[str]:
    """The words of `text` whose frequency alone makes them specific (no index needed yet)."""
    found = []
    for word in dict.fromkeys(w.replace("'", "") for w in _WORD.findall(text.lower())):
        if len(word) < MIN_LETTERS:
            continue
        z = zipf(word)
        unknown = rule.unknown_strings and z < rule.low and len(word) >= UNKNOWN_MIN_LETTERS
        if rule.low <= z < rule.high or unknown:
            found.append(word)
    return found


def unknown_names(text: str, index_words: Collection[str], rule: NameRule | None = None) -> list[str]:
    """The specific words of `text` that the index (`index_words`) never uses, in order.

    An empty index vocabulary gives none: without the articles' words nothing can be said.
    """
    rule = rule or NameRule()
    if not index_words:
        return []
    words = candidates(text, rule)
    if not words:
        return []
    folded = _folded(index_words)
    return [w for w in words if w not in index_words and fold(w) not in folded]


__all__ = ["NameRule", "candidates", "fold", "unknown_names", "zipf"]
