"""`action_record_feedback`: store a customer's verdict on an answer; and the team's view.

Buttons (Slack, Telegram, web) send `/feedback_helpful{"ref": "..."}`, naming the exact
answer. A typed verdict ("yes", "no", "that didn't help" - SMS has no buttons) applies
only to an answer the bot has just given, so a "no" to some other question is not
recorded as a complaint about an article. A typed "verdict" that follows no answer and says
more than yes/no ("still broken, the schedule is not working" as a first message) is a
question the classifier took for feedback: the knowledge action answers it.

    python -m actions.feedback list --unhelpful     # what to fix, newest first
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
import threading
from collections import Counter
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher

import contract
from actions.feedback_store import HELPFUL, UNHELPFUL, AnswerRecord, FeedbackStore

log = logging.getLogger(__name__)

LAST_ANSWER_SLOT = "last_answer_ref"
RICH_CHANNELS = {"slack", "telegram"}
ACK_TEXT = "Thanks for your feedback!"
KNOWLEDGE_ACTION = "action_search_knowledge"
# Actions whose reply a typed verdict judges: an answer, and the rest of it sent for MORE
# on SMS (actions/more.py), which ends with the same "Reply 1 if this helped, 2 if not."
ANSWERING_ACTIONS = frozenset({KNOWLEDGE_ACTION, "action_more_answer"})

# What a bare verdict on an answer is made of, in the bot's five languages ("no", "yes
# thanks", "that didn't help", "it still doesn't work", "nicht hilfreich", "👍", and "no
# thanks, I'm good" to "anything else?"; digits are the SMS "reply 1 or 2"). A message
# with any other word is about something.
VERDICT_WORDS = frozenset(
    """
    yes y yeah yep yup ok okay sure no n nope nah not thanks thank you u ty thx that it this
    was wasn't is isn't it's that's did didn't does doesn't do don't help helped helps helpful
    unhelpful useful useless very really great good perfect awesome nice bad wrong right
    correct answer answered question my me i what asked needed exactly solved fixed works
    worked work working still broken problem the a at all relevant understand understood
    tried already and but so just thumbs up down now again anymore any more of kind sort trick
    lot much many appreciated appreciate cheers kindly for bye goodbye i'm im i've fine done
    nothing else everything set thats its we're
    sí si gracias vale bien mal útil sirvió funciona funcionó ayudó nada me lo eso esto es el todo
    ja nein danke hilfreich geholfen hat nicht gut schlecht stimmt funktioniert das ist mir es
    war's wars alles
    oui non merci utile aidé marche pas ne ça ca c'est ce était tout
    sim não nao obrigado obrigada ajudou funcionou certo isso foi é só tudo
    """.split()
)
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")


_build_lock = threading.Lock()


@lru_cache(maxsize=1)
def _build_feedback_store() -> FeedbackStore:
    return FeedbackStore()


def feedback_store() -> FeedbackStore:
    # First used from several worker threads at once: build one store (one connection,
    # one lock), not one per thread.
    with _build_lock:
        return _build_feedback_store()


def previous_action(tracker: Tracker) -> str | None:
    """The bot's last action before the customer's latest message."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            if seen_user:
                return None
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None


def button_ref(tracker: Tracker) -> str | None:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == "ref" and entity.get("value"):
            return str(entity["value"])
    return None


def says_more_than_a_verdict(text: str) -> bool:
    """Whether a typed message carries a subject of its own beyond judging an answer."""
    words = _WORD.findall(text.lower().replace("’", "'"))
    return any(word not in VERDICT_WORDS and not word.isdigit() for word in words)


def _record_verdict(ref: str, verdict: str, channel: str, conversation_id: str) -> AnswerRecord | None:
    record = feedback_store().get(ref)
    # A reference from another conversation is stale or forged: never record it.
    if record is None or record.conversation_id != conversation_id:
        return None
    return feedback_store().record_verdict(ref, verdict, channel)


class ActionRecordFeedback(Action):
    def name(self) -> str:
        return "action_record_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        verdict = HELPFUL if intent == "feedback_helpful" else UNHELPFUL
        channel = tracker.get_latest_input_channel() or "rest"
        ref = button_ref(tracker)
        pressed = ref is not None
        if not pressed and previous_action(tracker) in ANSWERING_ACTIONS:
            ref = tracker.get_slot(LAST_ANSWER_SLOT)
        record = None
        if ref:
            try:
                # Off the event loop: a commit waits for the disk (see the knowledge action).
                record = await asyncio.to_thread(_record_verdict, ref, verdict, channel, tracker.sender_id)
            except Exception:  # noqa: BLE001 - a broken store must not break the chat
                log.exception("could not record feedback for conversation %s", tracker.sender_id)
        if record is None:
            if pressed:
                log.warning("feedback button for an unknown answer in conversation %s", tracker.sender_id)
                return []
            text = (tracker.latest_message or {}).get("text") or ""
            if previous_action(tracker) not in ANSWERING_ACTIONS and says_more_than_a_verdict(text):
                # No answer to judge, and more than yes/no: a question read as feedback.
                return [FollowupAction(KNOWLEDGE_ACTION)]
            # "yes"/"no" that did not follow an answer: answer it as a conversation turn.
            dispatcher.utter_message(response="utter_thanks" if verdict == HELPFUL else "utter_anything_else")
            return []
        if verdict == UNHELPFUL:
            dispatcher.utter_message(response="utter_feedback_sorry")
        elif pressed and channel in RICH_CHANNELS:
            # No chat message for a thumbs-up: the connector may show this as a toast or
            # replace the buttons, which is all the acknowledgement a click needs.
            dispatcher.utter_message(json_message=contract.feedback_ack(ref, verdict, ACK_TEXT))
        else:
            dispatcher.utter_message(response="utter_feedback_thanks")
        return []


# --- the team's side -----------------------------------------------------------------


def format_record(record: AnswerRecord) -> str:
    cited = (
        ", ".join(
            f"[{c['number']}] {c['title']}" + (f" <{c['url']}>" if c["url"] else "") for c in record.citations
        )
        or "(no citation)"
    )
    return (
        f"{record.verdict_at}  {record.verdict.upper()}  via {record.verdict_channel}  ref {record.ref}\n"
        f"  Q: {record.question}\n"
        f"  A: {record.answer}\n"
        f"  Cited: {cited}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actions.feedback", description="Customer feedback on the bot's answers."
    )
    parser.add_argument("--db", help="feedback database (default: $FEEDBACK_DB or .data/feedback.sqlite)")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="answers customers judged, newest first")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--unhelpful", action="store_true", help="only answers marked not helpful")
    which.add_argument("--helpful", action="store_true", help="only answers marked helpful")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    articles = sub.add_parser("articles", help="articles cited in unhelpful answers, most often first")
    articles.add_argument("--limit", type=int, default=20)
    args = parser.parse_args(argv)
    store = FeedbackStore(args.db) if args.db else FeedbackStore()

    if args.command == "articles":
        counts: Counter[tuple[str, str]] = Counter()
        for record in store.with_verdict(UNHELPFUL, limit=100_000):
            for citation in record.citations:
                counts[(citation["article_id"], citation["title"])] += 1
        for (article_id, title), count in counts.most_common(args.limit):
            print(f"{count:4d}  {article_id}  {title}")
        return 0

    verdict = UNHELPFUL if args.unhelpful else HELPFUL if args.helpful else None
    records = store.with_verdict(verdict, limit=args.limit)
    for record in records:
        print(json.dumps(record.as_dict(), ensure_ascii=False) if args.json else format_record(record))
    if not records and not args.json:
        print("no feedback yet", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
