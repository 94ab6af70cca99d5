"""`action_more_answer`: the rest of an SMS answer, when the customer texts MORE.

An SMS answer is cut to the SMS budget (knowledge/budget.py). When the REST-budget answer
says more, the reply ends "Reply MORE for the rest, ..." and `action_search_knowledge`
keeps, in the `more_answer` slot, a reference to the question it answered: the message id
of the customer's message, never its text. MORE (the Twilio channel turns the keyword into
`/more`) then answers that question again at the REST budget, quoting whole sections with
their structure (`KnowledgeBase.ask(..., quoted=True)`), in one longer SMS of at most
`SMS_MORE_SEGMENTS` segments, and clears the slot. MORE with nothing to continue gets
`utter_nothing_more` in the customer's language.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.feedback import LAST_ANSWER_SLOT
from actions.knowledge_action import (
    CONFIDENT_METHODS,
    MORE_SLOT,
    ask_knowledge,
    conversation_turns,
    message_reference,
)
from actions.language import LANGUAGE_SLOT
from actions.render import renderer_for
from actions.render.sms import SmsRenderer, more_segments
from knowledge.language import ENGLISH
from knowledge.service import KnowledgeBaseMissing

log = logging.getLogger(__name__)

NOTHING_MORE = "utter_nothing_more"


def question_events(events: list[dict[str, Any]], reference: str) -> list[dict[str, Any]] | None:
    """The conversation up to and including the customer's message `reference` names
    (its message id), or None when it is no longer in the tracker (a new session)."""
    for i in range(len(events) - 1, -1, -1):
        event = events[i]
        if event.get("event") == "user" and message_reference(event) == reference:
            return events[: i + 1]
    return None


def renderer_for_more(channel: str):
    """One longer SMS on SMS; any other channel shows the REST-budget answer as usual."""
    if channel == "sms":
        return SmsRenderer(max_segments=more_segments())
    return renderer_for(channel)


class ActionMoreAnswer(Action):
    def name(self) -> str:
        return "action_more_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        reference = tracker.get_slot(MORE_SLOT)
        events = question_events(list(tracker.events), str(reference)) if reference else None
        answer = None
        if events:
            question = (events[-1].get("text") or "").strip()
            history, turns = conversation_turns(tracker, events=events)
            language = tracker.get_slot(LANGUAGE_SLOT) or ENGLISH
            channel = tracker.get_latest_input_channel() or "rest"
            try:
                answer = await ask_knowledge(
                    question, history, turns, "rest", language, tracker.sender_id, quoted=True
                )
            except KnowledgeBaseMissing as exc:
                log.error("knowledge base unavailable for conversation %s: %s", tracker.sender_id, exc)
        if answer is not None and answer.method in CONFIDENT_METHODS:
            ref = tracker.get_slot(LAST_ANSWER_SLOT)  # the digits still judge the answer
            for message in renderer_for_more(channel).render(answer, feedback_ref=ref):
                dispatcher.utter_message(**message.as_kwargs())
            log.info("sent the rest of the answer in conversation %s", tracker.sender_id)
        else:
            dispatcher.utter_message(response=NOTHING_MORE)
        events_out: list[dict[str, Any]] = [FollowupAction("action_listen")]
        if reference:
            events_out.insert(0, SlotSet(MORE_SLOT, None))
        return events_out
