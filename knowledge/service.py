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
from knowledge.answer.more import leaves_out
from knowledge.answer.prompt import (
    GENERIC_COMPANY,
    NO_ANSWER,
    Turn,
    build_messages,
    build_standalone_messages,
    clean_standalone,
    company_in,
    load_template,
)
from knowledge.asking import asking_part
from knowledge.budget import DEFAULT_CHANNEL, budget_for
from knowledge.calibration import ABSTAIN, ANSWER, DEFAULT_PATH, SUGGEST, Calibration
from knowledge.config import Settings
from knowledge.documents import Answer, Passage, Source
from knowledge.embedding import default_embedder
from knowledge.followup import MAX_POINTING_WORDS, depends_on_history
from knowledge.gloss import gloss
from knowledge.language import ENGLISH, language_name
from knowledge.pleasantries import without_pleasantries
from knowledge.retrieval import Retriever, SearchResult, build_query
from knowledge.store import ChunkStore, KnowledgeBaseMissing

log = logging.getLogger(__name__)

# Used only when neither a calibration file nor KB_MIN_RELEVANCE is available.
FALLBACK_MIN_COSINE = 0.5
# Articles offered when the engine is unsure (in English) or cannot answer in the
# customer's language (the pointer reuses the same choice).
MAX_SUGGESTIONS = 3
# "See also" under a confident answer: another article whose fused score is within this of
# the top article's. Chosen on the tune part (docs/knowledge-quality.md): the smallest gap
# that links the right article under every confident answer that quoted a sibling with
# the right one ranked next (6 of 14), while 11 % of confident answers carry the line.
SEE_ALSO_GAP = 0.08
MAX_SEE_ALSO = 2
# How often the index's own calibration is looked up again (`kb ingest` may rewrite it).
CALIBRATION_TTL_SECONDS = 30.0
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
        # The documented default until `kb calibrate` (or `kb ingest`) stored the index's own.
        self.default_calibration = Calibration.load(self.settings.retrieval.calibration or DEFAULT_PATH)
        self._calibration: Calibration | None = None
        self._calibration_checked = -1e9
        self._company: str | None = self.settings.llm.company or None

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

    @property
    def company(self) -> str:
        """The business the model speaks for: KB_COMPANY_NAME, or the name the indexed
        articles use most (read once, the first time the model is asked)."""
        if self._company is None:
            try:
                rows = self.store.table.to_arrow().select(["text"]).to_pylist()
                self._company = company_in(r.get("text") or "" for r in rows)
            except Exception as exc:  # noqa: BLE001 - the prompt then names no business
                log.warning("could not read the articles for the company's name (%s)", exc)
                return GENERIC_COMPANY
        return self._company

    def warm_reading(self) -> int:
        """Hold every chunk's token states for the reading signal in memory now (start-up).

        Only for an index the in-memory cache holds whole (`knowledge.reading`): its
        stored states are read in one scan, or, for an index from before `kb ingest`
        stored them, computed with the model (6.1 s for the sample's 222 chunks). A
        larger index reads a chunk's stored states when its article first comes out on
        top (a keyed lookup of a few ms; loading them all would hold them all in memory,
        about 64 KB a chunk) or, without stored states, computes them then.
        Returns how many chunks' states are kept. The index's words for the spelling
        correction (`knowledge.spelling`) and the thesaurus (`knowledge.thesaurus`), and
        with a model the business's name for its prompt, are collected here too, for the
        same reason.
        """
        if self.retriever.uses_vocabulary and self.store.exists():
            self.retriever.vocabulary()
        if self.model is not None and self.store.exists():
            _ = self.company  # read the articles for it now, not on a customer's first question
        states = self.retriever.token_states
        if not states.available() or not self.store.exists():
            return 0
        stored = self.retriever.stored_states
        stored.usable()  # says now, at start-up, when the index has no usable states
        if self.store.count() > states.max_chunks:
            return 0
        columns = ["chunk_id", "title", "section", "text"]
        rows = self.store.table.to_arrow().select(columns).to_pylist()
        before = states.computed
        kept = states.warm(rows, stored)
        if states.computed > before:
            log.info(
                "reading signal: %d chunks' token states computed with the model", states.computed - before
            )
        return kept

    def search(self, question: str, history: Sequence[str] = (), spelling: bool = True) -> SearchResult:
        """Search a short question both with the recent turns and alone; keep the right one.

        A short question may be a follow-up ("and how long does that take?") or a new
        topic ("do you ship to canada?"); words alone cannot always tell. Folding the
        earlier turns into a new topic diluted it until the bot refused a question it
        answers when asked first, so for most questions the decision itself picks the
        reading it trusts more (ties go to the follow-up reading), and a question its own
        words answer confidently is taken as asked: folded into an unrelated earlier turn,
        "can i pay by bank transfer" looks surer about the earlier question's article,
        whose words then dominate the query. The question is searched as asked first, so
        such a turn costs one search, as a first message does. A question that plainly
        leans on the earlier turns (`knowledge.followup`: "what about apple pay?", "can i
        turn them off?") keeps the follow-up reading even when its own words look surer,
        unless they are confident and find the same article anyway: searched alone, "what
        about apple pay for the subscription?" is confidently about failed payments.
        `spelling=False` (a question known to be in another language) searches the words
        as typed (`Retriever.search`). A long, story-like message is ranked whole but
        decided on the sentences that ask (`knowledge.asking`). Greetings, thanks and
        hedges around the question are not part of it (`knowledge.pleasantries`).
        """
        self.store.refresh()
        asked = without_pleasantries(question)
        window = self.settings.retrieval.max_messages_in_query
        folded = build_query(asked, history, window)
        dependent = bool(history) and depends_on_history(asked)
        if dependent and folded == asked:
            recent = [h.strip() for h in history if h and h.strip()][-window:] if window > 0 else []
            if recent:
                folded = " ".join([*recent, asked])
        alone = self.retriever.search(asked, spelling=spelling)
        ask = asking_part(asked)
        if ask:  # a long message: the decision reads the sentences that ask
            alone = self.retriever.read_on(alone, ask)
        if folded == asked:
            if not self._worth_reading_in_context(asked, history, alone):
                return alone
            recent = [h.strip() for h in history if h and h.strip()][-window:]
            with_context = self._with_context(asked, history, " ".join([*recent, asked]), spelling)
            return self._close_call(alone, with_context) if self.outcome(with_context) == ANSWER else alone
        if not dependent and self.outcome(alone) == ANSWER:
            if alone.signals.margin > SEE_ALSO_GAP:
                return alone  # a clear answer to its own words: no second search
            return self._close_call(alone, self._with_context(asked, history, folded, spelling))
        with_context = self._with_context(asked, history, folded, spelling)
        if dependent:
            same = alone.article_ids()[:1] == with_context.article_ids()[:1]
            return alone if same and self.outcome(alone) == ANSWER else with_context
        return alone if self.confidence(alone) > self.confidence(with_context) else with_context

    def _worth_reading_in_context(self, asked: str, history: Sequence[str], alone: SearchResult) -> bool:
        """A short question that names a topic but leaves the engine unsure on its own words.

        "how long is the confirmation link good for" after "how do I change my email?"
        names no pronoun, so it is not folded, yet on its own it is unsure between order
        confirmations and password links; the conversation settles it. Only short
        questions (`MAX_POINTING_WORDS`) pay for the second search: a longer one carries
        its own topic, and cut at 12 words it searched a third of the tune part's later
        turns twice for one more development follow-up (docs/knowledge-quality.md, tenth
        session).
        """
        return (
            bool(history)
            and self.settings.retrieval.max_messages_in_query > 0
            and len(asked.split()) <= MAX_POINTING_WORDS
            and self.outcome(alone) != ANSWER
        )

    def _with_context(self, asked: str, history: Sequence[str], folded: str, spelling: bool) -> SearchResult:
        """The question read with the conversation: after two earlier turns, also with the last one
        alone, and the surer reading kept.

        A customer who changes the subject at the second turn ("different question, the
        thermostat won't connect since the new router") means that turn when they follow up
        ("it's showing W3 now, what does that mean"); folding both turns in lets the first
        topic pull the follow-up back to it. A confident reading of both turns is kept
        without the extra search: on the development follow-ups every one this rescued was
        unsure with both turns, and the search costs every later turn of a conversation.
        """
        readings = [self.retriever.search(folded, spelling=spelling)]
        recent = [h.strip() for h in history if h and h.strip()]
        if len(recent) >= 2 and self.outcome(readings[0]) != ANSWER:
            last = " ".join([recent[-1], asked])
            if last != folded:
                readings.append(self.retriever.search(last, spelling=spelling))
        return max(readings, key=self.confidence)

    def _close_call(self, alone: SearchResult, with_context: SearchResult) -> SearchResult:
        """A confident reading of the question's own words whose runner-up is as close as a
        "See also": the conversation may decide between them.

        "will i lose my history?" after "my payment failed" is, on its own words, about
        deleting data by a hair (failed payments next); with the earlier turn it is about
        failed payments, confidently. Folding an earlier turn in makes almost any reading
        surer (more words to match), so the folded reading's article must also read the
        question's own words at least as well as the question's own top article does
        (`knowledge.reading`, the decision's reading signal): an unrelated earlier topic's
        article does not ("whats the cost of regular delivery" after a return from Canada
        stays with shipping costs). Only these close calls pay for the second search.
        """
        theirs = with_context.article_ids()[:1]
        if not theirs or theirs == alone.article_ids()[:1]:
            return alone
        if self.confidence(with_context) <= self.confidence(alone):
            return alone
        passages = [p for p in with_context.passages if p.article_id == theirs[0]]
        own_words = alone.searched or alone.query
        reads = self.retriever.reading_of(own_words, passages) >= alone.signals.reading
        return with_context if reads else alone

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

    def suggestions(self, result: SearchResult, use_floor: bool = True) -> list[Source]:
        """The nearest articles, best first, leaving out any below the "unrelated" bar.

        `use_floor=False` for a question not in English: its cosines to English articles
        are low across the board, so the bar would drop articles that are in fact nearest.
        """
        floor = self._unrelated_floor() if use_floor else None
        best = list(_best_per_article(result).values())
        chosen = [p for i, p in enumerate(best) if i == 0 or _at_least(p, floor)][:MAX_SUGGESTIONS]
        return _as_sources(chosen)

    def see_also(self, result: SearchResult, quoted: set[str]) -> list[Source]:
        """Articles that ranked nearly as high as the top one, other than those quoted.

        A confident answer still picks the sibling now and then (reset vs unlock, plans vs
        cancelling); when the runner-up was that close, linking it costs a line and saves
        the customer a second question.
        """
        if not result.passages:
            return []
        floor = self._unrelated_floor()
        top = result.passages[0].score
        chosen = [
            p
            for article_id, p in _best_per_article(result).items()
            if article_id not in quoted and top - p.score <= SEE_ALSO_GAP and _at_least(p, floor)
        ][:MAX_SEE_ALSO]
        return _as_sources(chosen)

    def _unrelated_floor(self) -> float | None:
        """The best-chunk cosine under which an article is clearly unrelated (None: no bar)."""
        calibration = self.calibration
        return calibration.suggest_cosine if calibration is not None else None

    def _with_see_also(self, answer: Answer, result: SearchResult) -> Answer:
        if answer.method in ("llm", "extractive"):
            answer.see_also = self.see_also(result, {s.article_id for s in answer.sources})
        return answer

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
        quoted: bool = False,
    ) -> Answer:
        """Answer from the articles; raises `KnowledgeBaseMissing` if there is no index.

        `language` is the customer's language code ("es"; empty when unknown). The
        articles are English: without a model a non-English question gets a `pointer`
        (the nearest articles, for the caller to introduce in the customer's language)
        instead of English quotes. With a model the question is first restated as a
        standalone English question, and the three-way decision applies to that search.
        Where an English question would get suggestions, a non-English one gets the
        pointer: the same articles, introduced in its language.

        On a channel whose budget is below REST's (SMS) a confident answer says in `more`
        whether the REST-budget answer to the question quotes something it leaves out
        (`knowledge.answer.more`); the customer's MORE then asks with `quoted=True` at
        the REST budget: the extractive answer, whole sections, never a model's words.
        With a model the comparison is the same (the model's short answer against the
        quoted sections); a borderline answer (the model judged it) or a non-English one
        makes no offer.
        """
        foreign = bool(language) and language != ENGLISH
        result, restated = self._search_for(
            question, history, conversation, language if foreign else "", conversation_id
        )
        if foreign and not restated:  # no model, or it failed: English quotes would not help
            return self._pointer(result)
        unsure = self._pointer if foreign else self._suggest
        outcome = self.outcome(result)
        if self.model is not None and not quoted and outcome != ANSWER and self.related(result):
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
                return unsure(result)
            return Answer(text="", grounded=False, method="abstain", passages=result.passages)
        passages = result.passages[: self.settings.retrieval.context_passages]
        # The extractive answer looks at every retrieved section: the one that answers may
        # rank below the passages a model gets, and only quoted text is ever shown. Its
        # sentences are scored against the mended question (the words the articles use).
        scored = question if foreign else self.retriever.correct(without_pleasantries(question))
        if self.model is not None and not quoted:
            answer = self._ask_model(
                question, passages, conversation, channel, language, conversation_id, restated
            )
            if answer is not None:
                if answer.method == "abstain":
                    return unsure(result)
                if not (foreign or borderline):
                    answer.more = self._more_than(answer, scored, result.passages, channel)
                return self._with_see_also(answer, result)
            if foreign or borderline:
                # Foreign: English quotes would not help. Borderline: no model to judge it,
                # so what retrieval alone would have done.
                return unsure(result)
        answer = self._extractive(scored, result.passages, channel)
        if answer.method == "abstain":
            return unsure(result)
        # `answer.passages` already holds the rest of the article: no second table scan.
        answer.more = self._more_than(answer, scored, answer.passages, channel, complete=True)
        return self._with_see_also(answer, result)

    def _more_than(
        self, answer: Answer, scored: str, passages: list[Passage], channel: str, complete: bool = False
    ) -> bool:
        """Whether the REST-budget (quoted) answer says something `answer` leaves out; only
        asked on a channel whose budget is smaller than REST's."""
        if budget_for(channel) >= budget_for(DEFAULT_CHANNEL):
            return False
        full = self._extractive(scored, passages, DEFAULT_CHANNEL, complete=complete)
        return full.method == "extractive" and leaves_out(answer.text, full.text)

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
            language=language_name(language),
            template=self.template,
            company=self.company,
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
        language: str,
        conversation_id: str,
    ) -> tuple[SearchResult, str]:
        """Search with the question the customer meant, and say what was searched.

        With a model, a follow-up or a non-English question is first rewritten into a
        standalone English question (one short model call): "¿y cuánto tarda?" after a
        shipping question becomes "How long does shipping take?". A non-English question
        is also searched as written (product names match in any language) and the surer
        result is kept. Without a model, or if the call fails, the no-model search
        applies: the recent turns are folded into a follow-up (`search`). A question in
        another `language` (empty: English) is then searched through its English key
        words (`knowledge.gloss`): the English-only embedding model cannot read it as
        written, and the articles it finds are the ones the customer's pointer names.
        """
        foreign = bool(language)
        # The second model call only when it is needed (it doubles the turn's wait): the
        # language differs from the articles', or the question leans on the earlier turns
        # and the search needed them (a local, lexical check; see `search`). A standalone
        # English question goes straight to the search and one answer call.
        result = None
        if not (self.model is not None and foreign):
            result = self._search_in(question, history, language)
            follow_up = bool(history) and depends_on_history(question) and result.query != question.strip()
            if self.model is None or not follow_up:
                return result, ""
        turns = list(conversation) or [Turn("customer", h) for h in history]
        restated = self._standalone(question, turns, conversation_id)
        if not restated:
            return (result if result is not None else self._search_in(question, history, language)), ""
        self.store.refresh()
        restated_result = self.retriever.search(restated)
        if foreign:
            original = self.retriever.search(question, spelling=False)
            if self.confidence(original) > self.confidence(restated_result):
                restated_result = original
        return restated_result, restated

    def _search_in(self, question: str, history: Sequence[str], language: str) -> SearchResult:
        """`search`, through the glossary's English key words for a non-English conversation.

        Words in another language are searched as typed, never "mended" towards the English
        articles' words (`knowledge.spelling`): "mein Konto" is not "mein onto".
        """
        if language:
            english = gloss(question, language)
            if english:
                return self.search(english, [gloss(h, language) or h for h in history], spelling=False)
        return self.search(question, history, spelling=not language)

    def _standalone(self, question: str, conversation: Sequence[Turn], conversation_id: str) -> str | None:
        try:
            messages = build_standalone_messages(question, conversation, self.company)
            raw = self.model.complete(messages, conversation_id)
        except ModelUnavailable:
            log.warning(
                "could not restate the question for conversation %s; searching it as asked",
                conversation_id or "-",
            )
            return None
        return clean_standalone(raw)

    def _pointer(self, result: SearchResult) -> Answer:
        """The suggestions' articles, for a customer whose language the bot cannot answer in."""
        return Answer(
            text="",
            sources=self.suggestions(result, use_floor=False),
            grounded=False,
            method="pointer",
            passages=result.passages,
        )

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

    def _extractive(
        self, question: str, passages: list[Passage], channel: str = "rest", complete: bool = False
    ) -> Answer:
        """`complete`: `passages` already include the rest of the best article."""
        passages = list(passages) if complete else list(passages) + self._rest_of_article(list(passages))
        raw = extract_answer(question, passages, self.embedder, budget=budget_for(channel))
        cited = apply_citations(raw, passages)
        if not cited.grounded:
            return Answer(text="", grounded=False, method="abstain", passages=passages)
        return Answer(
            text=cited.text, sources=cited.sources, grounded=True, method="extractive", passages=passages
        )


def _best_per_article(result: SearchResult) -> dict[str, Passage]:
    """Each article's best passage, in rank order (the passages come best first)."""
    best: dict[str, Passage] = {}
    for passage in result.passages:
        best.setdefault(passage.article_id, passage)
    return best


def _at_least(passage: Passage, floor: float | None) -> bool:
    return floor is None or (passage.vector_similarity or 0.0) >= floor


def _as_sources(passages: list[Passage]) -> list[Source]:
    return [Source(n, p.title, p.url, p.article_id, p.page) for n, p in enumerate(passages, start=1)]


__all__ = ["KnowledgeBase", "KnowledgeBaseMissing"]
