"""`action_search_knowledge`: answer the customer's question from the help articles.

Runs the (blocking) knowledge engine in a worker thread so one slow model call does not
stall the other conversations the action server is serving.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback import LAST_ANSWER_SLOT, feedback_store
from actions.gaps_store import record_unanswered
from actions.handoff import HANDOFF_SLOT, REASON_UNANSWERED, is_external, start_handoff
from actions.language import LANGUAGE_SLOT, customer_language, localize_messages, pointer_answer
from actions.render import render_suggestions, renderer_for
from contract import parse_data
from knowledge.answer.prompt import Turn
from knowledge.documents import Answer
from knowledge.language import ENGLISH
from knowledge.language import warm_up as load_language_model
from knowledge.service import KnowledgeBase, KnowledgeBaseMissing

log = logging.getLogger(__name__)

# One torch thread per query embedding: measured 120 ms instead of 500 ms per question on
# a busy 2-core machine, and the second core stays free for Rasa (README, "Benchmarks").
os.environ.setdefault("KB_TORCH_THREADS", "1")

UNANSWERED_SLOT = "unanswered_count"
# The customer's message an SMS answer offered the rest of ("Reply MORE ..."): its message
# id, never its text; actions/more.py answers it again at the REST budget.
MORE_SLOT = "more_answer"
# Answers the articles stand behind; anything else is no answer for small talk.
CONFIDENT_METHODS = frozenset({"llm", "extractive"})
# Questions in a row the articles could not answer before a person takes over.
HANDOFF_AFTER_MISSES = int(os.environ.get("HANDOFF_AFTER_MISSES", "2"))


_build_lock = threading.Lock()

# Most of a question's time is spent waiting for the model API, not computing, and each
# question holds a thread throughout: the pool size caps the questions in flight, and so
# the answers per second at (threads / model latency). asyncio's default pool (cores + 4,
# 6 here) would allow 4 answers/s with a 1.5 s model; 64 threads, the earlier default,
# capped 128 benchmark conversations at 47 answered/s with overhead p50 1.0 s, and 256
# gave 61/s and 0.2 s (bench.channels --concurrency 128), for 13 MB more peak memory.
# Embedding stays serialised by the embedder's own lock.
_pool = ThreadPoolExecutor(
    max_workers=int(os.environ.get("ACTIONS_THREADS", "256") or 256), thread_name_prefix="knowledge"
)


@lru_cache(maxsize=1)
def _build_knowledge_base() -> KnowledgeBase:
    return KnowledgeBase()


def knowledge_base() -> KnowledgeBase:
    # The warm-up thread and the first request may both get here; build only once.
    with _build_lock:
        return _build_knowledge_base()


def small_talk_reply(latest_message: dict[str, Any]) -> str | None:
    """The small-talk response to send instead of "I don't know", if the guard named one.

    "who made you?" and "are you soc 2 certified" are both classified as small talk; only
    the articles can tell them apart, and a miss on the first is small talk, not an
    unanswered support question."""
    note = latest_message.get(parse_data.GUARD)
    reply = note.get(parse_data.UNLESS_ANSWERED) if isinstance(note, dict) else None
    return reply if isinstance(reply, str) and reply else None


def conversation_turns(
    tracker: Tracker, limit: int = 6, events: list[dict[str, Any]] | None = None
) -> tuple[list[str], list[Turn]]:
    """Earlier customer messages (for follow-up search) and both sides (for the prompt);
    `events` instead of the tracker's: the conversation up to an earlier question (MORE)."""
    turns: list[Turn] = []
    for event in tracker.events if events is None else events:
        kind = event.get("event")
        text = (event.get("text") or "").strip()
        if not text or is_external(event):  # an agent's claim or hand-back, not the customer
            continue
        if kind == "user":
            turns.append(Turn("customer", text))
        elif kind == "bot":
            turns.append(Turn("assistant", text))
    # The last customer turn is the question being answered now.
    if turns and turns[-1].role == "customer":
        turns = turns[:-1]
    turns = turns[-limit:]
    history = [t.text for t in turns if t.role == "customer"]
    return history, turns


async def ask_knowledge(
    question: str,
    history: list[str],
    turns: list[Turn],
    channel: str,
    language: str,
    conversation_id: str,
    quoted: bool = False,
) -> Answer:
    """`KnowledgeBase.ask` on the worker pool, so the embedding and the model call never
    hold the action server's event loop; raises `KnowledgeBaseMissing` as `ask` does."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        _pool,
        lambda: knowledge_base().ask(
            question,
            history=history,
            conversation=turns,
            channel=channel,
            # English is the default: the model is then told to answer in the
            # question's own language, in case a short message was misread.
            language="" if language == ENGLISH else language,
            conversation_id=conversation_id,
            quoted=quoted,
        ),
    )


def message_reference(event: dict[str, Any]) -> str:
    """What the `more_answer` slot keeps of a customer's message: its id (Twilio's
    MessageSid on SMS; the timestamp if a channel gave none)."""
    return str(event.get("message_id") or event.get("timestamp") or "")


def question_reference(tracker: Tracker) -> str | None:
    """The id of the customer's message being answered (the `more_answer` slot's value)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return message_reference(event) or None
    return None


class ActionSearchKnowledge(Action):
    def name(self) -> str:
        return "action_search_knowledge"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Answer in the customer's language, then hand the turn back to the customer.

        In every rule and story the customer speaks next (tests/actions checks bot/data),
        so the action says so itself: Rasa then skips the second run of its dialogue
        policies that would only predict `action_listen` again, about 2 ms of the Rasa
        server's event loop per answer, paid while every other conversation waits there.
        """
        question = (tracker.latest_message.get("text") or "").strip()
        metadata = tracker.latest_message.get("metadata")
        language = customer_language(question, metadata, tracker.get_slot(LANGUAGE_SLOT))
        channel = tracker.get_latest_input_channel() or "rest"
        events = await self._respond(dispatcher, tracker, language, domain)
        if tracker.get_slot(MORE_SLOT) and not any(e.get("name") == MORE_SLOT for e in events):
            events.append(SlotSet(MORE_SLOT, None))  # MORE continues only the latest answer
        # Texts chosen by name this turn (the slot below only applies from the next turn).
        localize_messages(dispatcher.messages, domain, language, channel)
        if language != (tracker.get_slot(LANGUAGE_SLOT) or ENGLISH):
            events.append(SlotSet(LANGUAGE_SLOT, None if language == ENGLISH else language))
        return events + [FollowupAction("action_listen")]

    async def _respond(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, language: str, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        question = (tracker.latest_message.get("text") or "").strip()
        channel = tracker.get_latest_input_channel() or "rest"
        conversation_id = tracker.sender_id
        unanswered = int(tracker.get_slot(UNANSWERED_SLOT) or 0)
        if tracker.get_slot(HANDOFF_SLOT):
            return []  # a person has this conversation; the rules should not even get here
        if not question:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        small_talk = small_talk_reply(tracker.latest_message)
        history, turns = conversation_turns(tracker)
        try:
            answer = await ask_knowledge(question, history, turns, channel, language, conversation_id)
        except KnowledgeBaseMissing as exc:
            log.error("knowledge base unavailable for conversation %s: %s", conversation_id, exc)
            if small_talk:
                dispatcher.utter_message(response=small_talk)
                return []
            dispatcher.utter_message(response="utter_kb_unavailable")
            return [SlotSet(UNANSWERED_SLOT, float(unanswered + 1))]
        if small_talk and answer.method not in CONFIDENT_METHODS:
            # Small talk after all: its own reply, no unanswered question, no miss counted.
            dispatcher.utter_message(response=small_talk)
            return []
        if answer.method == "pointer":
            # Not a miss: the customer has articles to read and a person on offer.
            pointer = pointer_answer(answer, domain, language, channel)
            for message in renderer_for(channel).render(pointer):
                dispatcher.utter_message(**message.as_kwargs())
            return [SlotSet(LAST_ANSWER_SLOT, None)]
        if answer.method == "abstain":
            handing_off = bool(HANDOFF_AFTER_MISSES and unanswered + 1 >= HANDOFF_AFTER_MISSES)
            await record_unanswered(conversation_id, channel, question, answer, language, handoff=handing_off)
            if HANDOFF_AFTER_MISSES and unanswered + 1 >= HANDOFF_AFTER_MISSES:
                dispatcher.utter_message(response="utter_dont_know_again")
                return [SlotSet(LAST_ANSWER_SLOT, None)] + await start_handoff(
                    dispatcher, tracker, REASON_UNANSWERED
                )
            dispatcher.utter_message(response="utter_dont_know")
            return [SlotSet(UNANSWERED_SLOT, float(unanswered + 1)), SlotSet(LAST_ANSWER_SLOT, None)]
        if answer.method == "suggest":
            return await self._suggest(dispatcher, tracker, answer, question, channel, unanswered)
        ref = None
        try:
            # A SQLite commit waits for the disk: on the event loop it stalled every other
            # conversation this server was serving (4-5 ms a turn, ~13 % of the server's
            # samples at 64 conversations).
            ref = await asyncio.get_running_loop().run_in_executor(
                _pool, lambda: feedback_store().record_answer(conversation_id, channel, question, answer)
            )
        except Exception:  # noqa: BLE001 - the answer still goes out, only without buttons
            log.exception("could not store the answer for feedback in conversation %s", conversation_id)
        for message in renderer_for(channel).render(answer, feedback_ref=ref):
            dispatcher.utter_message(**message.as_kwargs())
        # The reply offered the rest (`Answer.more`, SMS only): what MORE needs to answer it.
        more = question_reference(tracker) if answer.more else None
        return [SlotSet(UNANSWERED_SLOT, 0.0), SlotSet(LAST_ANSWER_SLOT, ref), SlotSet(MORE_SLOT, more)]

    async def _suggest(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        answer,
        question: str,
        channel: str,
        unanswered: int,
    ) -> list[dict[str, Any]]:
        """ "These articles may help": an unanswered question as far as handoff is concerned.

        The reply is stored with its articles (the team sees what was offered), carries
        no Helpful buttons (there is no answer to rate), and counts as a miss: after
        `HANDOFF_AFTER_MISSES` misses in a row a person takes over, as after "I don't know".
        """
        conversation_id = tracker.sender_id
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(
                _pool, lambda: feedback_store().record_answer(conversation_id, channel, question, answer)
            )
        except Exception:  # noqa: BLE001 - the suggestions still go out
            log.exception("could not store the suggestions for conversation %s", conversation_id)
        for message in render_suggestions(channel, answer):
            dispatcher.utter_message(**message.as_kwargs())
        if HANDOFF_AFTER_MISSES and unanswered + 1 >= HANDOFF_AFTER_MISSES:
            return [SlotSet(LAST_ANSWER_SLOT, None)] + await start_handoff(
                dispatcher, tracker, REASON_UNANSWERED
            )
        return [SlotSet(UNANSWERED_SLOT, float(unanswered + 1)), SlotSet(LAST_ANSWER_SLOT, None)]


def warm_up() -> None:
    """Load the embedding model at server start, not on the first customer's question."""
    try:
        try:
            kb = knowledge_base()
            kb.embedder.embed_one("warm up")
            load_language_model()
            started = time.perf_counter()
            warmed = kb.warm_reading()
            log.info("reading signal: %d chunks read in %.1f s", warmed, time.perf_counter() - started)
        except Exception as exc:  # noqa: BLE001 - the server still starts and reports per request
            log.warning("knowledge engine warm-up failed: %s", exc)
            return
        # The model, tokenizer and index are never garbage; kept out of Python's full
        # collections, which otherwise walk them all and stall the server's event loop for
        # a few hundred milliseconds (the same as rasa_ext/server.py on the Rasa side).
        started = time.perf_counter()
        gc.collect()
        gc.freeze()
        log.info(
            "%d start-up objects kept out of garbage collection (%.0f ms)",
            gc.get_freeze_count(),
            1000 * (time.perf_counter() - started),
        )
    finally:
        warmed_up.set()


# Set once the warm-up is over (or when there is none): `/health/ready` waits for it, so
# a load balancer sends no customer into the model load or the collection above.
warmed_up = threading.Event()
WARM_UP = os.environ.get("ACTIONS_WARM_UP", "1") != "0"

if WARM_UP:
    # In the background: Sanic kills a worker that has not reported ready within 30 s,
    # and loading the model takes longer than that on a busy machine.
    threading.Thread(target=warm_up, name="knowledge-warm-up", daemon=True).start()
