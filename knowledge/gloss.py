"""English search words for a question written in another language, with no model.

The articles are English and the packaged embedding model is English-only: "olvidé mi
contraseña" lands on articles about blank displays and warranties, so the "these
articles may help" pointer a Spanish customer gets without a model named the right
article for fewer than half of the labelled non-English questions. Customer-support
vocabulary is small and the same in every help centre (account, password, order,
refund, invoice, shipping...), so a word-for-word glossary of it per language
(`knowledge/glossary/<lang>.yml`, editable by a support team) turns the question into
English key words that the ordinary search understands. It is not a translation: word
order, negation and everything outside the glossary are lost, which is why its result
only chooses the articles the pointer names and never becomes an English quote.

An elided word ("l'abonnement", "d'usine") is looked up as the word after its
apostrophe when it is not a key itself, so French needs no "l'"/"d'" forms of its keys.

Words that read the same in any language are kept as written: figures and codes ("5",
"W3"), capitalised names in mid-sentence ("PayPal", "Alexa") and a few loan words
("wifi", "app").

`glossary/en.yml` is not one of these: it is the English customer-support thesaurus
(customer words -> help-centre words, `knowledge.thesaurus`), in the same format.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

GLOSSARY_DIR = Path(__file__).with_name("glossary")
_WORD = re.compile(r"[\w'-]+", re.UNICODE)
# Loan words customers use as they are in every supported language.
_LOAN_WORDS = frozenset(
    {"wifi", "wi-fi", "app", "apps", "online", "paypal", "bluetooth", "router", "ghz", "ios", "android"}
    | {"pro", "plus"}
)
# A prefix key shorter than this would catch unrelated words.
MIN_PREFIX = 3


def fold(text: str) -> str:
    """Lower case without accents (ß as ss), as the glossary's keys are written."""
    text = text.lower().replace("ß", "ss")
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@dataclass(frozen=True)
class Glossary:
    words: dict[str, str]  # whole word -> English
    prefixes: tuple[tuple[str, str], ...]  # longest first
    phrases: tuple[tuple[tuple[str, ...], str], ...]  # longest first

    @classmethod
    def from_mapping(cls, mapping: dict[str, str]) -> Glossary:
        words: dict[str, str] = {}
        prefixes: list[tuple[str, str]] = []
        phrases: list[tuple[tuple[str, ...], str]] = []
        for key, english in mapping.items():
            key, english = fold(str(key)).strip(), str(english).strip()
            if " " in key:
                phrases.append((tuple(key.split()), english))
            elif key.endswith("*") and len(key) > MIN_PREFIX:
                prefixes.append((key[:-1], english))
            elif key:
                words[key] = english
        prefixes.sort(key=lambda item: -len(item[0]))
        phrases.sort(key=lambda item: -len(item[0]))
        return cls(words, tuple(prefixes), tuple(phrases))

    def lookup(self, word: str) -> str | None:
        if word in self.words:
            return self.words[word]
        for prefix, english in self.prefixes:
            if word.startswith(prefix):
                return english
        return None


@cache
def glossary(language: str) -> Glossary | None:
    """The language's glossary, or None when there is none."""
    path = GLOSSARY_DIR / f"{language}.yml"
    if not re.fullmatch(r"[a-z]{2,3}", language or "") or not path.is_file():
        return None
    return Glossary.from_mapping(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def folded_words(text: str) -> tuple[list[str], list[str]]:
    """The words of `text` as written and as glossary keys (accents folded, edges stripped)."""
    raw = _WORD.findall(text)
    return raw, [fold(w).strip("'-") for w in raw]


def gloss(text: str, language: str) -> str:
    """English key words for `text` written in `language` ("" when none are found)."""
    table = glossary(language)
    if table is None:
        return ""
    raw, words = folded_words(text)
    out: list[str] = []
    i = 0
    while i < len(words):
        for phrase, english in table.phrases:
            if tuple(words[i : i + len(phrase)]) == phrase:
                out.append(english)
                i += len(phrase)
                break
        else:
            word, written = words[i], raw[i]
            english = table.lookup(word)
            if english is None and "'" in word:
                # French elision: "l'abonnement", "d'usine" are the glossary's words
                english = table.lookup(word.rsplit("'", 1)[1])
            if english is not None:
                out.append(english)
            elif any(c.isdigit() for c in word) or word in _LOAN_WORDS or (i > 0 and written[:1].isupper()):
                out.append(written)
            i += 1
    return " ".join(dict.fromkeys(out))


__all__ = ["Glossary", "fold", "folded_words", "gloss", "glossary"]
