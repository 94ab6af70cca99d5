"""The part of a long customer message that asks.

Customers often tell a story before they ask ("My phone fell into the lake on a fishing
trip Saturday and it had my authenticator app on it. Now I can't sign in. What now?").
Searched whole, the story's incidental words (order, app, account, email, the lake) weigh
as much as the ask, and the decision's weakest-word reading (`knowledge.reading`) is
dragged down by whichever story word no article mentions. The sentences that ask are told
apart by their form alone, never by topic words: a question mark, or an interrogative or
request head (how, can, is there, i need, please...) after an optional greeting or
connective. An ask with too few words of its own to search ("What now?") takes the
sentence before it along, where its topic usually is.

The engine (`KnowledgeBase.search`) still ranks the whole message: the story carries
context the ask leaves out ("my military discount" named only in the story). Only the
decision's reading of the top article (the reading signal and key-term coverage) is taken
on the ask, so a story word no article mentions no longer makes a right answer look
unsure (`bench/long_messages.py`, read-ask: a fresh batch of long messages went from 12 to
19 confident right answers of 45, with no more confident mistakes).

Pure text: no model, no index, so it costs nothing for a message it leaves alone.
"""

from __future__ import annotations

import re

from knowledge.retrieval import key_terms

# A message shorter than this (in words) is a question, not a story: it takes today's path.
LONG_WORDS = 13
# An asking sentence with fewer content words than this borrows the sentence before it.
MIN_ASK_TERMS = 3

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n+\s*")
_WORD = re.compile(r"[a-z']+")
# Openers that carry no meaning of their own before the head of a sentence.
_OPENERS = frozenset(
    """hi hello hey dear ok okay so and also but well then now quick one honestly seriously
    basically anyway plus or um uh oh ah yes no just""".split()
)
# Heads of a question or a request, as single words or two-word starts.
_HEADS = frozenset(
    """how what whats what's when where which who why whom whose can could would will should
    shall is are do does did may might any please help""".split()
)
_TWO_WORD_HEADS = frozenset(
    {
        ("i", "need"),
        ("i", "want"),
        ("i'd", "like"),
        ("would", "like"),
        ("tell", "me"),
        ("let", "me"),
        ("explain", "how"),
        ("wondering", "if"),
        ("wondering", "whether"),
    }
)


def sentences(message: str) -> list[str]:
    """The message's sentences, split after . ! ? and at line breaks."""
    return [s.strip() for s in _SENTENCE_END.split(message.strip()) if s and s.strip()]


def is_long(message: str) -> bool:
    """A story-like message: at least `LONG_WORDS` words in more than one sentence."""
    return len(message.split()) >= LONG_WORDS and len(sentences(message)) > 1


def asks(sentence: str) -> bool:
    """Whether a sentence asks, by its form: a question mark or an asking head."""
    if sentence.rstrip().endswith("?"):
        return True
    words = _WORD.findall(sentence.lower())
    while words and words[0] in _OPENERS:
        words = words[1:]
    if not words:
        return False
    return words[0] in _HEADS or tuple(words[:2]) in _TWO_WORD_HEADS


def asking_part(message: str) -> str:
    """The sentences of a long message that ask, or "" when that would change nothing.

    "" for a message that is not long (`is_long`), has no asking sentence, or asks in
    every sentence: the whole message is then the ask, and searching it again is waste.
    """
    if not is_long(message):
        return ""
    parts = sentences(message)
    chosen: set[int] = set()
    for i, sentence in enumerate(parts):
        if asks(sentence):
            chosen.add(i)
            if i > 0 and len(key_terms(sentence)) < MIN_ASK_TERMS:
                chosen.add(i - 1)
    if not chosen or len(chosen) == len(parts):
        return ""
    return " ".join(parts[i] for i in sorted(chosen))
