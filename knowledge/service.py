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
from knowledge.answer.prompt import (
    NO_ANSWER,
    Turn,
    build_messages,
    build_standalone_messages,
    clean_standalone,
    load_template,
)
from knowledge.budget import budget_for
from knowledge.calibration import DEFAULT_PATH, Calibration
from knowledge.config import Settings
from knowledge.documents import Answer, Passage, Source
from knowledge.embedding import default_embedder
from knowledge.language import ENGLISH, NAMES
from knowledge.retrieval import Retriever, SearchResult, build_query
from knowledge.store import ChunkStore, KnowledgeBaseMissing

log = logging.getLogger(__name__)

# Used only when neither a calibration file nor KB_MIN_RELEVANCE is available.
FALLBACK_MIN_COSINE = 0.5
# Articles offered to a customer whose question cannot be answered in their language.
POINTER_ARTICLES = 3
# Chunks of one article read for the extractive answer (the longest sample article has 9).
ARTICLE_CHUNKS = 64


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
        """Answer from the articles; raises `KnowledgeBaseMissing` if there is no index.

        `language` is the customer's language code ("es"; empty when unknown). The
        articles are English: without a model a non-English question gets a `pointer`
        (the nearest articles, for the caller to introduce in the customer's language)
        instead of English quotes.
        """
        foreign = bool(language) and language != ENGLISH
        result, restated = self._search_for(question, history, conversation, foreign, conversation_id)
        if foreign and not restated:  # no model, or it failed: English quotes would not help
            return self._pointer(result)
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
            answer = self._ask_model(
                question, passages, conversation, channel, language, conversation_id, restated
            )
            if answer is not None:
                return answer
            if foreign:  # English quotes would not help; the nearest articles might
                return self._pointer(result)
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
        restated: str = "",
    ) -> Answer | None:
        messages = build_messages(
            question,
            passages,
            conversation,
            channel=channel,
            language=NAMES.get(language, language),
            template=self.template,
            restated=restated,
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

    def _search_for(
        self,
        question: str,
        history: Sequence[str],
        conversation: Sequence[Turn],
        foreign: bool,
        conversation_id: str,
    ) -> tuple[SearchResult, str]:
        """Search with the question the customer meant, and say what was searched.

        With a model, a follow-up or a non-English question is first rewritten into a
        standalone English question (one short model call): "¿y cuánto tarda?" after a
        shipping question becomes "How long does shipping take?". A non-English question
        is also searched as written (product names match in any language) and the surer
        result is kept. Without a model, or if the call fails, today's search applies:
        the recent turns are folded into a short follow-up.
        """
        follow_up = (
            bool(history)
            and build_query(question, history, self.settings.retrieval.max_messages_in_query)
            != question.strip()
        )
        if self.model is not None and (foreign or follow_up):
            turns = list(conversation) or [Turn("customer", h) for h in history]
            restated = self._standalone(question, turns, conversation_id)
            if restated:
                self.store.refresh()
                result = self.retriever.search(restated)
                if foreign:
                    original = self.retriever.search(question)
                    if self.confidence(original) > self.confidence(result):
                        result = original
                return result, restated
        return self.search(question, history), ""

    def _standalone(self, question: str, conversation: Sequence[Turn], conversation_id: str) -> str | None:
        try:
            raw = self.model.complete(build_standalone_messages(question, conversation), conversation_id)
        except ModelUnavailable:
            log.warning(
                "could not restate the question for conversation %s; searching it as asked",
                conversation_id or "-",
            )
            return None
        return clean_standalone(raw)

    def _pointer(self, result: SearchResult, limit: int = POINTER_ARTICLES) -> Answer:
        """The nearest articles, for a customer whose language the bot cannot answer in."""
        sources: list[Source] = []
        for passage in result.passages:
            if len(sources) == limit:
                break
            if all(s.article_id != passage.article_id for s in sources):
                sources.append(
                    Source(len(sources) + 1, passage.title, passage.url, passage.article_id, passage.page)
                )
        return Answer(text="", sources=sources, grounded=False, method="pointer", passages=result.passages)

    def _rest_of_article(self, passages: list[Passage]) -> list[Passage]:
        """The best article's sections that retrieval did not return.

        Retrieval returns the few chunks nearest the question, across articles; the
        section that holds the figure ("about 10 minutes") is often not among them when
        another section of the same article reads more like the question. One filtered
        scan of the table (about 10 ms) gives the extractive answer the whole article.
        """
        if not passages:
            return []
        top = passages[0]
        seen = {p.chunk_id for p in passages}
        try:
            rows = (
                self.store.table.search()
                .where(f"article_id = '{top.article_id.replace(chr(39), chr(39) * 2)}'", prefilter=True)
                .select(["chunk_id", "article_id", "title", "url", "section", "text", "page"])
                .limit(ARTICLE_CHUNKS)
                .to_list()
            )
        except Exception as exc:  # noqa: BLE001 - the retrieved sections still answer
            log.warning("could not read the rest of article %s: %s", top.article_id, exc)
            return []
        return [
            Passage(
                chunk_id=row["chunk_id"],
                article_id=row["article_id"],
                title=row["title"],
                url=row["url"] or "",
                section=row["section"] or "",
                text=row["text"],
                score=top.score,
                page=row.get("page"),
            )
            for row in rows
            if row["chunk_id"] not in seen
        ]

    def _extractive(self, question: str, passages: list[Passage], channel: str = "rest") -> Answer:
        passages = list(passages) + self._rest_of_article(list(passages))
        raw = extract_answer(question, passages, self.embedder, budget=budget_for(channel))
        cited = apply_citations(raw, passages)
        if not cited.grounded:
            return Answer(text="", grounded=False, method="abstain", passages=passages)
        return Answer(
            text=cited.text, sources=cited.sources, grounded=True, method="extractive", passages=passages
        )


__all__ = ["KnowledgeBase", "KnowledgeBaseMissing"]
