"""`action_record_feedback`: store a customer's verdict on an answer; and the team's view.

Buttons (Slack, Telegram, web) send `/feedback_helpful{"ref": "..."}`, naming the exact
answer. A typed verdict ("yes", "no", "that didn't help" - SMS has no buttons) applies
only to an answer the bot has just given, so a "no" to some other question is not
recorded as a complaint about an article.

    python -m actions.feedback list --unhelpful     # what to fix, newest first
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import threading
from collections import Counter
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

import contract
from actions.feedback_store import HELPFUL, UNHELPFUL, AnswerRecord, FeedbackStore

log = logging.getLogger(__name__)

LAST_ANSWER_SLOT = "last_answer_ref"
RICH_CHANNELS = {"slack", "telegram"}
ACK_TEXT = "Thanks for your feedback!"


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
        if not pressed and previous_action(tracker) == "action_search_knowledge":
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
