"""An answer built only from sentences of the articles, for when no model is configured
or the model fails.

It cannot invent anything: every sentence is quoted from a passage and cited. Sentences
are chosen by similarity to the question, then put back in article order so steps still
read in sequence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from knowledge.chunking import split_sentences
from knowledge.documents import Passage

MAX_SENTENCES = 3
# A sentence much less similar than the best one is noise, not support.
RELATIVE_FLOOR = 0.12
REDUNDANT = 0.8
PASSAGE_MARGIN = 0.05
_WORD = re.compile(r"[a-z0-9]+")


def _units(text: str) -> list[str]:
    """Sentences, treating each list item or table row as its own unit."""
    units: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or set(line) <= set("|-: "):
            continue
        units.extend(split_sentences(line))
    return units


def _clean(unit: str) -> str:
    unit = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", unit)
    unit = unit.strip().strip("|").strip()
    return re.sub(r"\s*\|\s*", ", ", unit) if "|" in unit else unit


def extract_answer(question: str, passages: Sequence[Passage], embedder) -> str:
    """Return text with `[n]` markers numbered by the passage order given."""
    candidates: list[tuple[int, int, str]] = []  # (passage index, position, sentence)
    top_score = passages[0].score if passages else 0.0
    for p_index, passage in enumerate(passages):
        # Quote only passages nearly as relevant as the best one: a sentence that happens
        # to match the question from a weaker article would cite the wrong article.
        if passage.score < top_score - PASSAGE_MARGIN:
            continue
        for position, unit in enumerate(_units(passage.text)):
            cleaned = _clean(unit)
            if len(cleaned) >= 12:
                candidates.append((p_index, position, cleaned))
    if not candidates:
        return ""
    vectors = embedder.embed([question] + [c[2] for c in candidates])
    similarity = vectors[1:] @ vectors[0]
    q_words = set(_WORD.findall(question.lower()))
    overlap = np.array(
        [len(q_words & set(_WORD.findall(c[2].lower()))) / (len(q_words) or 1) for c in candidates]
    )
    # Passages come ranked; prefer the top one when sentences tie.
    rank_bonus = np.array([0.1 * (1.0 / (1 + c[0])) for c in candidates])
    scores = similarity + 0.2 * overlap + rank_bonus
    best = float(scores.max())
    chosen: list[int] = []
    for i in np.argsort(-scores):
        if scores[i] < best - RELATIVE_FLOOR or len(chosen) == MAX_SENTENCES:
            break
        # Several articles repeat a fact; saying it twice adds nothing.
        if any(float(vectors[1 + i] @ vectors[1 + j]) > REDUNDANT for j in chosen):
            continue
        chosen.append(int(i))
    chosen.sort(key=lambda i: (candidates[i][0], candidates[i][1]))
    parts = []
    for i in chosen:
        p_index, _, sentence = candidates[i]
        sentence = sentence if sentence[-1] in ".!?:" else sentence + "."
        if sentence.endswith(":"):
            sentence = sentence[:-1] + "."
        parts.append(f"{sentence} [{p_index + 1}]")
    return " ".join(parts)
