"""One call from a question to a cited answer, a few articles that may help, or "I don't know".

This is the knowledge engine's public interface for the action server: retrieval, the
three-way decision, the model (or the extractive answer), and citation checks, in the
order a careful support agent would follow. Without a model the calibrated bars decide
alone; with one, retrieval only sets aside the clearly unrelated and the model judges
whether the passages answer (it replies NO_ANSWER when they do not), because reading
the passages is a better test of relevance than any similarity score.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from knowledge.answer.citations import apply_citations
from knowledge.answer.extractive import extract_answer
from knowledge.answer.llm import ChatModel, ModelUnavailable
from knowledge.answer.prompt import NO_ANSWER, Turn, build_messages, load_template
from knowledge.calibration import ABSTAIN, ANSWER, DEFAULT_PATH, SUGGEST, Calibration
from knowledge.config import Settings
from knowledge.documents import Answer, Passage, Source
from knowledge.embedding import default_embedder
from knowledge.retrieval import Retriever, SearchResult
from knowledge.store import ChunkStore, KnowledgeBaseMissing

log = logging.getLogger(__name__)

# Used only when neither a calibration file nor KB_MIN_RELEVANCE is available.
FALLBACK_MIN_COSINE = 0.5
MAX_SUGGESTIONS = 3
# How often the index's own calibration is looked up again (`kb ingest` may rewrite it).
CALIBRATION_TTL_SECONDS = 30.0


class KnowledgeBase:
    def __init__(self, settings: Settings | None = None, embedder=None) -> None:
        self.settings = settings or Settings.from_env()
        self.embedder = embedder or default_embedder()
        self.store = ChunkStore(self.settings.retrieval.uri, self.settings.retrieval.table)
        self.retriever = Retriever(self.store, self.embedder, self.settings.retrieval)
        self.model = ChatModel(self.settings.llm) if self.settings.llm.enabled else None
        self.template = load_template(self.settings.llm.prompt_template or None)
        # The documented default until `kb calibrate` (or `kb ingest`) stored the index's own.
        self.default_calibration = Calibration.load(self.settings.retrieval.calibration or DEFAULT_PATH)
        self._calibration: Calibration | None = None
        self._calibration_checked = -1e9

    @property
    def calibration(self) -> Calibration | None:
        """The index's own calibration when it has one; KB_CALIBRATION or the default otherwise."""
        if self.settings.retrieval.calibration:
            return self.default_calibration
        now = time.monotonic()
        if now - self._calibration_checked > CALIBRATION_TTL_SECONDS:
            self._calibration_checked = now
            text = self.store.load_calibration()
            try:
                self._calibration = Calibration.from_json(text) if text else None
            except (ValueError, KeyError) as exc:
                log.warning("the index's calibration is unreadable (%s); using the default", exc)
                self._calibration = None
        return self._calibration or self.default_calibration

    def search(self, question: str, history: Sequence[str] = ()) -> SearchResult:
        """Search a short question both with the recent turns and alone; keep the surer one.

        A short question may be a follow-up ("and how long does that take?") or a new
        topic ("do you ship to canada?"); words alone cannot tell. Folding the earlier
        turns into a new topic diluted it until the bot refused a question it answers
        when asked first, so the decision itself picks the reading it trusts more (ties go
        to the follow-up reading).
        """
        self.store.refresh()
        with_context = self.retriever.search(question, history)
        if with_context.query == question.strip():
            return with_context
        alone = self.retriever.search(question)
        return alone if self.confidence(alone) > self.confidence(with_context) else with_context

    def confidence(self, result: SearchResult) -> float:
        """How sure the engine is that the articles answer the question, in [0, 1]."""
        if not result.passages:
            return 0.0
        if self.settings.retrieval.min_relevance is None and self.calibration is not None:
            return self.calibration.confidence(result.signals.as_dict())
        return result.relevance

    def decision_bar(self) -> float:
        if self.settings.retrieval.min_relevance is not None:
            return self.settings.retrieval.min_relevance
        return self.calibration.threshold if self.calibration is not None else FALLBACK_MIN_COSINE

    def is_answerable(self, result: SearchResult) -> bool:
        return self.outcome(result) == ANSWER

    def outcome(self, result: SearchResult) -> str:
        """ANSWER (confident), SUGGEST (unsure: offer the nearest articles) or ABSTAIN."""
        if not result.passages:
            return ABSTAIN
        calibration = self.calibration
        if self.settings.retrieval.min_relevance is None and calibration is not None:
            return calibration.outcome(result.signals.as_dict())
        return ANSWER if self.confidence(result) >= self.decision_bar() else ABSTAIN

    def related(self, result: SearchResult) -> bool:
        """Not clearly unrelated: what retrieval alone decides when a model judges relevance."""
        if not result.passages:
            return False
        calibration = self.calibration
        if self.settings.retrieval.min_relevance is None and calibration is not None:
            return calibration.related(result.signals.as_dict())
        return self.confidence(result) >= self.decision_bar()

    def suggestions(self, result: SearchResult) -> list[Source]:
        """The nearest articles, best first, leaving out any below the "unrelated" bar."""
        calibration = self.calibration
        floor = calibration.suggest_cosine if calibration is not None else None
        best: dict[str, Passage] = {}
        for passage in result.passages:
            best.setdefault(passage.article_id, passage)
        chosen = [
            p
            for i, p in enumerate(best.values())
            if i == 0 or floor is None or (p.vector_similarity or 0.0) >= floor
        ][:MAX_SUGGESTIONS]
        return [Source(n, p.title, p.url, p.article_id) for n, p in enumerate(chosen, start=1)]

    def _suggest(self, result: SearchResult) -> Answer:
        return Answer(
            text="",
            grounded=False,
            method="suggest",
            passages=result.passages,
            suggestions=self.suggestions(result),
        )

    def ask(
        self,
        question: str,
        history: Sequence[str] = (),
        conversation: Sequence[Turn] = (),
        channel: str = "rest",
        language: str = "",
        conversation_id: str = "",
    ) -> Answer:
        """Answer from the articles; raises `KnowledgeBaseMissing` if there is no index."""
        result = self.search(question, history)
        outcome = self.outcome(result)
        if self.model is not None and outcome != ANSWER and self.related(result):
            # Borderline: the model reads the passages and answers or says NO_ANSWER.
            outcome = ANSWER
            borderline = True
        else:
            borderline = False
        if outcome != ANSWER:
            log.info(
                "%s for conversation %s (confidence %.3f < %.3f)",
                "suggested articles" if outcome == SUGGEST else "abstained",
                conversation_id or "-",
                self.confidence(result),
                self.decision_bar(),
            )
            if outcome == SUGGEST:
                return self._suggest(result)
            return Answer(text="", grounded=False, method="abstain", passages=result.passages)
        passages = result.passages[: self.settings.retrieval.context_passages]
        if self.model is not None:
            answer = self._ask_model(question, passages, conversation, channel, language, conversation_id)
            if answer is not None:
                return self._suggest(result) if answer.method == "abstain" else answer
            if borderline:  # no model to judge it: what retrieval alone would have done
                return self._suggest(result)
        answer = self._extractive(question, passages)
        return self._suggest(result) if answer.method == "abstain" else answer

    def _ask_model(
        self,
        question: str,
        passages: list[Passage],
        conversation: Sequence[Turn],
        channel: str,
        language: str,
        conversation_id: str,
    ) -> Answer | None:
        messages = build_messages(
            question, passages, conversation, channel=channel, language=language, template=self.template
        )
        try:
            raw = self.model.complete(messages, conversation_id=conversation_id)
        except ModelUnavailable:
            log.warning("falling back to the extractive answer for conversation %s", conversation_id or "-")
            return None
        if raw.strip().strip(".").upper() == NO_ANSWER:
            return Answer(text="", grounded=False, method="abstain", passages=passages)
        cited = apply_citations(raw, passages)
        if not cited.grounded:
            # An answer that cites nothing cannot be checked against the articles: show the
            # customer quoted, cited sentences instead of unverifiable model text.
            log.info(
                "model answer cited nothing for conversation %s; using extractive answer",
                conversation_id or "-",
            )
            return None
        return Answer(text=cited.text, sources=cited.sources, grounded=True, method="llm", passages=passages)

    def _extractive(self, question: str, passages: list[Passage]) -> Answer:
        raw = extract_answer(question, passages, self.embedder)
        cited = apply_citations(raw, passages)
        if not cited.grounded:
            return Answer(text="", grounded=False, method="abstain", passages=passages)
        return Answer(
            text=cited.text, sources=cited.sources, grounded=True, method="extractive", passages=passages
        )


__all__ = ["KnowledgeBase", "KnowledgeBaseMissing"]
