"""Does a question lean on the conversation before it?

"does that delete my schedules too?" cannot be searched on its own words; "how do I reset
my password" can, even as the third message of a conversation. Telling the two apart
decides two things: whether the earlier turns are folded into the search (no model), and
whether the model is asked to restate the question before the search, which costs a second
model call (about a model latency) on every turn that makes it. Asking on every short
message sent one turn in eight through two model calls in the channel benchmark, so the
check is local, lexical and strict: a question depends on the earlier turns when it opens
like a continuation ("and ...", "what about ...", "what if ..."), when it is short and
points back with a pronoun ("can i turn them off?"), or when it has no topic word at all
("how much?").
"""

from __future__ import annotations

import re

from knowledge.retrieval import key_terms

# Openings that continue the conversation, whatever follows.
_CONTINUES = re.compile(
    r"^\W*(?:and|but|or|so|ok(?:ay)?,? so|what about|how about|what if|then|also)\b", re.IGNORECASE
)
# Words that point back at something named earlier. "one" is left out (a number more often
# than not: "price of one room sensor"), and an existential "there" ("is there a chat
# option") is removed before looking.
_POINTS_BACK = re.compile(
    r"\b(?:it|its|it's|that|this|those|these|they|them|their|there|same|else)\b", re.IGNORECASE
)
_EXISTENTIAL = re.compile(
    r"\b(?:is|are|was|were)\s+there\b|\bthere(?:'s|\s+(?:is|are|was|were))\b", re.IGNORECASE
)
_WORD = re.compile(r"[\w']+")
# Question words that name no topic ("how much?", "how long?").
_NO_TOPIC = frozenset({"much", "many", "long", "often", "soon", "cost", "costs", "take", "work"})
# Longer than this, a message with a pronoun usually names its own topic too ("the screen
# keeps flickering and there's a red battery icon"), and a continuation is a new question.
MAX_POINTING_WORDS = 8
MAX_CONTINUING_WORDS = 12


def depends_on_history(question: str) -> bool:
    """True when the question cannot be understood without the turns before it."""
    words = _WORD.findall(question.lower())
    if not words:
        return False
    if _CONTINUES.search(question) and len(words) <= MAX_CONTINUING_WORDS:
        return True
    if len(words) > MAX_POINTING_WORDS:
        return False
    if _POINTS_BACK.search(_EXISTENTIAL.sub(" ", question)):
        return True
    return not [t for t in key_terms(question) if t not in _NO_TOPIC]


__all__ = ["depends_on_history"]
