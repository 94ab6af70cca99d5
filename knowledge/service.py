"""One call from a question to a cited answer, or an honest "I don't know".

This is the knowledge engine's public interface for the action server: retrieval, the
answer/abstain decision, the model (or the extractive answer), and citation checks, in
the order a careful support agent would follow.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from knowledge.answer.citations import apply_citations
from knowledge.answer.extractive import extract_answer
from knowledge.answer.llm import ChatModel, ModelUnavailable
from knowledge.answer.prompt import NO_ANSWER, Turn, build_messages, load_template
from knowledge.budget import budget_for
from knowledge.calibration import DEFAULT_PATH, Calibration
from knowledge.config import Settings
from knowledge.documents import Answer, Passage
from knowledge.embedding import default_embedder
from knowledge.retrieval import Retriever, SearchResult
from knowledge.store import ChunkStore, KnowledgeBaseMissing

log = logging.getLogger(__name__)

# Used only when neither a calibration file nor KB_MIN_RELEVANCE is available.
FALLBACK_MIN_COSINE = 0.5


class KnowledgeBase:
    def __init__(self, settings: Settings | None = None, embedder=None) -> None:
        self.settings = settings or Settings.from_env()
        self.embedder = embedder or default_embedder()
        self.store = ChunkStore(self.settings.retrieval.uri, self.settings.retrieval.table)
        self.retriever = Retriever(self.store, self.embedder, self.settings.retrieval)
        self.model = ChatModel(self.settings.llm) if self.settings.llm.enabled else None
        self.template = load_template(self.settings.llm.prompt_template or None)
        self.calibration = Calibration.load(self.settings.retrieval.calibration or DEFAULT_PATH)

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
        if not result.passages:
            return False
        if self.settings.retrieval.min_relevance is None and self.calibration is not None:
            return self.calibration.answers(result.signals.as_dict())
        return self.confidence(result) >= self.decision_bar()

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
        if not self.is_answerable(result):
            log.info(
                "abstained for conversation %s (confidence %.3f < %.3f)",
                conversation_id or "-",
                self.confidence(result),
                self.decision_bar(),
            )
            return Answer(text="", grounded=False, method="abstain", passages=result.passages)
        passages = result.passages[: self.settings.retrieval.context_passages]
        if self.model is not None:
            answer = self._ask_model(question, passages, conversation, channel, language, conversation_id)
            if answer is not None:
                return answer
        # The extractive answer looks at every retrieved section: the one that answers may
        # rank below the passages a model gets, and only quoted text is ever shown.
        return self._extractive(question, result.passages, channel)

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

    def _extractive(self, question: str, passages: list[Passage], channel: str = "rest") -> Answer:
        raw = extract_answer(question, passages, self.embedder, budget=budget_for(channel))
        cited = apply_citations(raw, passages)
        if not cited.grounded:
            return Answer(text="", grounded=False, method="abstain", passages=passages)
        return Answer(
            text=cited.text, sources=cited.sources, grounded=True, method="extractive", passages=passages
        )


__all__ = ["KnowledgeBase", "KnowledgeBaseMissing"]
