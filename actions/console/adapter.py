"""The console's one meeting point with the bot's own code.

The console shows what the bot does, so it must call the same engine, the same decision
and the same renderers, never copies of them. Everything it needs from `knowledge/`,
`actions/render/`, the feedback and gaps stores and the handoff records goes through
the functions here: when one of those changes shape (a third "suggestions" outcome, a
language detector, handoff records), this file is the one to adjust.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from actions.console.conversations import mask_phones
from actions.feedback_store import UNHELPFUL, FeedbackStore
from actions.feedback_store import default_path as feedback_db_path
from actions.gaps_store import GapsStore
from actions.handoff_store import CLAIMED, HandoffStore
from actions.handoff_store import default_path as handoff_db_path
from actions.render import renderer_for
from actions.render.base import RenderedMessage
from knowledge.answer.prompt import Turn
from knowledge.documents import Answer
from knowledge.service import KnowledgeBase

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain.yml"
CHANNELS = ("slack", "telegram", "whatsapp", "sms", "rest")
# A made-up reference so previews show the feedback buttons every real answer carries.
PREVIEW_REF = "preview0"

ANSWER = "answer"
ABSTAIN = "abstain"
SUGGEST = "suggest"  # the engine's "these articles may help" outcome


@dataclass(frozen=True)
class RankedPassage:
    rank: int
    article_id: str
    title: str
    url: str
    section: str
    text: str
    score: float
    cosine: float | None
    fts: float | None


@dataclass
class Trial:
    """One question as the bot would handle it, with the evidence behind the decision."""

    question: str
    query: str
    passages: list[RankedPassage]
    confidence: float
    bar: float
    verdict: str  # ANSWER or ABSTAIN (or whatever outcome the engine adds)
    method: str
    answer: Answer
    previews: dict[str, list[RenderedMessage]] = field(default_factory=dict)


@dataclass(frozen=True)
class GapQuestion:
    """A question the articles failed: refused, handed over, or answered unhelpfully."""

    question: str
    kind: str  # refused | handoff | suggested | unhelpful
    channel: str
    language: str
    conversation_id: str
    at: str
    nearest_article: str = ""


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _knowledge_base() -> KnowledgeBase:
    return KnowledgeBase()


def knowledge_base() -> KnowledgeBase:
    with _lock:
        return _knowledge_base()


def parse_turns(earlier: str) -> list[Turn]:
    """Earlier turns typed one a line; a line starting `bot:` is the bot's, any other the customer's."""
    turns = []
    for line in earlier.splitlines():
        line = line.strip()
        if not line:
            continue
        if line.lower().startswith("bot:"):
            turns.append(Turn("assistant", line[4:].strip()))
        else:
            turns.append(Turn("customer", line.removeprefix("customer:").strip()))
    return turns


def try_question(question: str, earlier: Sequence[Turn] = (), kb: KnowledgeBase | None = None) -> Trial:
    kb = kb or knowledge_base()
    history = [t.text for t in earlier if t.role == "customer"]
    result = kb.search(question, history)
    confidence = kb.confidence(result)
    answer = kb.ask(question, history=history, conversation=list(earlier), channel="rest")
    verdict = answer.method if answer.method in (ABSTAIN, SUGGEST) else ANSWER
    passages = [
        RankedPassage(
            rank=i + 1,
            article_id=p.article_id,
            title=p.title,
            url=p.url,
            section=p.section,
            text=p.text,
            score=float(p.score),
            cosine=p.vector_similarity,
            fts=p.fts_score,
        )
        for i, p in enumerate(result.passages)
    ]
    trial = Trial(
        question, result.query, passages, confidence, kb.decision_bar(), verdict, answer.method, answer
    )
    trial.previews = {channel: render(channel, answer) for channel in CHANNELS}
    return trial


def render(channel: str, answer: Answer) -> list[RenderedMessage]:
    """What the bot sends on `channel` for this answer, or its refusal when it abstains."""
    if answer.method == ABSTAIN:
        return [RenderedMessage(text=refusal_text(channel))]
    if answer.method == SUGGEST:
        # Only an engine with the third outcome returns it, and its renderers come with it.
        from actions.render import render_suggestions

        return render_suggestions(channel, answer)
    return renderer_for(channel).render(answer, feedback_ref=PREVIEW_REF)


@lru_cache(maxsize=1)
def _responses() -> dict[str, Any]:
    return (yaml.safe_load(DOMAIN.read_text(encoding="utf-8")) or {}).get("responses", {})


def refusal_text(channel: str) -> str:
    """The domain's `utter_dont_know` as Rasa would pick it for `channel`."""
    variants = _responses().get("utter_dont_know", [])
    for variant in variants:
        if variant.get("channel") == channel:
            return variant.get("text", "")
    for variant in variants:
        if not variant.get("channel"):
            return variant.get("text", "")
    return ""


_vectors: dict[str, np.ndarray] = {}
_vectors_lock = threading.Lock()
MAX_CACHED_VECTORS = 50_000  # 1.5 KB each: about 75 MB at most


def embed(texts: Sequence[str], kb: KnowledgeBase | None = None) -> np.ndarray:
    """Unit-length vectors from the knowledge engine's own embedder.

    Kept per text: the gaps page groups the same recorded questions on every visit, and
    only the questions recorded since the last one need the model.
    """
    texts = list(texts)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    with _vectors_lock:
        found = {t: _vectors[t] for t in texts if t in _vectors}
    missing = [t for t in dict.fromkeys(texts) if t not in found]
    if missing:
        fresh = (kb or knowledge_base()).embedder.embed(missing)
        found.update(zip(missing, fresh, strict=True))
        with _vectors_lock:
            if len(_vectors) + len(missing) > MAX_CACHED_VECTORS:
                _vectors.clear()
            _vectors.update(zip(missing, fresh, strict=True))
    return np.stack([found[t] for t in texts])


def article_vectors(kb: KnowledgeBase | None = None) -> np.ndarray | None:
    """Every chunk's vector in the knowledge base (the gaps page takes the articles' common
    meaning out of the questions with them: actions/gaps.py), or None without one."""
    try:
        table = (kb or knowledge_base()).store.table.to_arrow()
    except Exception:  # noqa: BLE001 - no knowledge base: group the questions as they are
        return None
    if "vector" not in table.column_names or table.num_rows == 0:
        return None
    return np.asarray(table.column("vector").to_pylist(), dtype=np.float32)


def nearest_article(text: str, kb: KnowledgeBase | None = None) -> dict[str, Any]:
    kb = kb or knowledge_base()
    result = kb.search(text)
    if not result.passages:
        return {"article_id": "", "title": "", "url": "", "confidence": 0.0}
    top = result.passages[0]
    return {
        "article_id": top.article_id,
        "title": top.title,
        "url": top.url,
        "confidence": kb.confidence(result),
    }


def language_of(text: str, recorded: str = "") -> str:
    """The language the bot recorded for the turn, else the engine's detector's guess."""
    if recorded:
        return recorded
    try:
        from knowledge.language import detect
    except ImportError:  # an engine without a language detector
        return ""
    return detect(text) or ""


def gap_questions(limit: int = 2000, since: str = "") -> list[GapQuestion]:
    """Refused, handed-over and unhelpfully answered questions, newest first."""
    items = [
        GapQuestion(
            question=row.question,
            kind=row.kind,
            channel=row.channel,
            language=language_of(row.question, row.language),
            conversation_id=row.conversation_id,
            at=row.asked_at,
            nearest_article=row.nearest_article,
        )
        for row in GapsStore().recent(limit, since)
    ]
    items += suggested_questions(limit, since)
    for record in FeedbackStore().with_verdict(UNHELPFUL, limit):
        if since and (record.verdict_at or "") < since:
            continue
        items.append(
            GapQuestion(
                question=record.question,
                kind=UNHELPFUL,
                channel=record.channel,
                language=language_of(record.question),
                conversation_id=record.conversation_id,
                at=record.verdict_at or record.answered_at,
                nearest_article=(record.citations[0]["article_id"] if record.citations else ""),
            )
        )
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]


def suggested_questions(limit: int = 2000, since: str = "") -> list[GapQuestion]:
    """Questions answered only with "these articles may help", kept with the answers.

    Read straight from the feedback database (read-only): the store has no query by
    method, and a suggestion is a question the articles did not answer outright.
    """
    path = feedback_db_path()
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute(
            "SELECT conversation_id, channel, question, answered_at, citations FROM answers"
            " WHERE method = ? AND answered_at >= ? ORDER BY answered_at DESC LIMIT ?",
            (SUGGEST, since, limit),
        ).fetchall()
    finally:
        db.close()
    items = []
    for conversation_id, channel, question, answered_at, citations in rows:
        offered = json.loads(citations or "[]")
        items.append(
            GapQuestion(
                question=question,
                kind="suggested",
                channel=channel,
                language=language_of(question),
                conversation_id=conversation_id,
                at=answered_at,
                nearest_article=offered[0]["article_id"] if offered else "",
            )
        )
    return items


def handoff_records(limit: int = 100) -> list[dict[str, Any]] | None:
    """Open and claimed handoffs from the action server's records (actions/handoff_store.py).

    None when this machine has no records file (the console runs away from the action
    server, or no handoff happened yet): the page then reads the tracker's slots instead.
    """
    path = handoff_db_path()
    if not path.exists():
        return None
    rows = []
    for record in HandoffStore(path).listing(open_only=True, limit=limit):
        if record.status == CLAIMED:
            state = f"claimed by {record.agent or 'an agent'}"
        else:
            state = "waiting for an agent"
        rows.append(
            {
                "conversation_id": mask_phones(record.conversation_id),
                "channel": record.channel,
                "reason": record.reason,
                "since": record.opened_at,
                "state": state,
                "claimed_at": record.claimed_at or "",
                "told": ", ".join(record.delivered_to),
            }
        )
    return rows
