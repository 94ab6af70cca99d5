"""Handing a conversation to a person, and keeping the bot quiet until it is handed back.

The bot goes silent only once the team has actually been told. The team is reached through
up to two destinations, both configured in the environment that both servers read (`.env`):

- a generic webhook (`HANDOFF_WEBHOOK_URL`): a JSON POST with the transcript and the
  conversation id; a 2xx answer counts as told;
- the Slack team channel (`SLACK_HANDOFF_CHANNEL`): the Slack connector runs on the Rasa
  server, so this server POSTs the same JSON to the connector's
  `/webhooks/slack/handoff` route there (`RASA_URL`, authenticated with `RASA_API_TOKEN`),
  which answers 200 only after Slack accepted the post.

With no destination, or when none accepted the notice, the customer gets the contact line
(`HANDOFF_CONTACT_LINE`) and the bot keeps answering. While the `handoff_active` slot is
true the dialogue rules only run `action_handoff_silence`, so the bot never talks over an
agent.

Agents claim and hand back a conversation through Rasa's HTTP API with external intents,
so the action server, which keeps every handoff's record (actions/handoff_store.py), sees
both whichever tool the team uses:

    POST /conversations/<conversation_id>/trigger_intent?token=<RASA_API_TOKEN>
    {"name": "EXTERNAL_handoff_resolved", "entities": {"agent": "Ann"}}

(`EXTERNAL_handoff_claimed` to claim), or with `python -m actions.handoff release|claim
<conversation_id>`; `python -m actions.handoff list` shows the open handoffs. An agent writes
to the customer the same way (`EXTERNAL_agent_message` with the text; the Slack desk sends
it for a reply in the handoff's thread): `action_agent_message` renders it for the
customer's channel as an `agent_message` payload, and with `output_channel=latest` Rasa
delivers it there. The action server's timer (actions/handoff_timer.py) triggers
`EXTERNAL_handoff_waiting` / `EXTERNAL_handoff_expired` when a stored deadline passes.
Every destination gets each step as an event (contract/handoff_events.py): opened,
customer_message, agent_message, claimed, waiting and resolved, all with the handoff's id.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

import contract
from actions import support_hours
from actions.handoff_store import (
    CLAIMED as CLAIMED_STATUS,
)
from actions.handoff_store import (
    DELIVERY_FAILED,
    HANDED_BACK,
    NO_DESTINATION,
    OPEN,
    TIMED_OUT,
    HandoffRecord,
    HandoffStore,
    now_iso,
)
from actions.render.agent import render_agent_message
from contract import handoff_events as steps

log = logging.getLogger(__name__)

HANDOFF_SLOT = "handoff_active"
UNANSWERED_SLOT = "unanswered_count"
TRANSCRIPT_TURNS = 50
HUMAN_BUTTON = "/request_human"

# Why a conversation was handed over; the team sees it in the notification.
REASON_ASKED = "customer_asked"
REASON_BUTTON = "button"
REASON_UNANSWERED = "unanswered_questions"

# What the customer is told when no one on the team could be reached. The default is the
# sample articles' "Contact Nimbus support" page; set HANDOFF_CONTACT_LINE for your own.
DEFAULT_CONTACT_LINE = (
    "Email support@nimbushome.example or call 1-800-555-0142 (Mon-Fri 8am-8pm ET): "
    "https://help.nimbushome.example/articles/contact-support"
)
SLACK_ROUTE = "/webhooks/slack/handoff"
# The connector retries Slack itself (with backoff), so its answer may take a while.
SLACK_ROUTE_TIMEOUT = 25.0


# Webhook events, one per step of a handoff, and the external intents an agent's tool
# triggers through Rasa's HTTP API (bot/domain.yml): named in contract/handoff_events.py.
OPENED = steps.OPENED
CUSTOMER_MESSAGE = steps.CUSTOMER_MESSAGE
CLAIMED = steps.CLAIMED
RESOLVED = steps.RESOLVED
CLAIM_INTENT = steps.CLAIM_INTENT
RESOLVE_INTENT = steps.RESOLVE_INTENT
AGENT_ENTITY = steps.AGENT_ENTITY
# An agent's message is cut here (Telegram's limit is the smallest a whole message fits in).
AGENT_TEXT_LIMIT = 4000

_store_lock = threading.Lock()


@lru_cache(maxsize=1)
def _build_store() -> HandoffStore:
    return HandoffStore()


def handoff_store() -> HandoffStore:
    with _store_lock:  # first used from worker threads: build one store, not one per thread
        return _build_store()


def trigger_path(conversation_id: str) -> str:
    # ":" stays as it is: Rasa's router does not unquote "%3A", and every conversation id
    # has one (`web:`, `telegram:`, `slack:`, `sms:`).
    return f"/conversations/{urllib.parse.quote(conversation_id, safe=':')}/trigger_intent"


def agent_request(intent: str, agent: str = "") -> dict[str, Any]:
    """The body of Rasa's trigger_intent call that claims or hands back a conversation."""
    return {"name": intent, "entities": {AGENT_ENTITY: agent} if agent else {}}


def is_external(event: dict[str, Any]) -> bool:
    """An agent's claim or hand-back reaches the tracker as a user event the customer never wrote."""
    return bool((event.get("metadata") or {}).get("is_external")) or (event.get("text") or "").startswith(
        "EXTERNAL: "
    )


def _bot_text(event: dict[str, Any]) -> str:
    """What the customer saw, also for rich messages that carry no plain text."""
    if event.get("text"):
        return event["text"]
    return contract.readable_text((event.get("data") or {}).get("custom") or {})


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, timezone.utc).isoformat(timespec="seconds")


def transcript(tracker: Tracker, limit: int = TRANSCRIPT_TURNS) -> list[dict[str, Any]]:
    turns: list[dict[str, Any]] = []
    for event in tracker.events:
        kind = event.get("event")
        if kind == "user":
            if is_external(event):
                continue
            text = event.get("text") or ""
            who = "customer"
        elif kind == "bot":
            custom = (event.get("data") or {}).get("custom") or {}
            if "handoff" in custom or "feedback_ack" in custom:
                continue
            text = _bot_text(event)
            who = "agent" if contract.AGENT_MESSAGE in custom else "bot"
        else:
            continue
        if text:
            stamp = event.get("timestamp")  # seconds since the epoch
            when = _iso(stamp) if stamp else None
            turns.append({"from": who, "text": text, "time": when})
    return turns[-limit:]


def handoff_reason(tracker: Tracker) -> str:
    message = tracker.latest_message or {}
    if (message.get("text") or "").strip().startswith(HUMAN_BUTTON):
        return REASON_BUTTON
    if (message.get("intent") or {}).get("name") == "request_human":
        return REASON_ASKED
    return REASON_UNANSWERED


def post_json(
    url: str,
    payload: dict[str, Any],
    timeout: float = 5.0,
    attempts: int = 2,
    headers: dict[str, str] | None = None,
) -> bool:
    """POST with one retry on connection errors and 5xx; a 4xx is not retried (it won't change)."""
    body = json.dumps(payload).encode()
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(
            url, body, {"Content-Type": "application/json", **(headers or {})}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if 200 <= response.status < 300:
                    return True
        except urllib.error.HTTPError as exc:
            log.warning("handoff destination answered HTTP %s (attempt %s)", exc.code, attempt)
            if exc.code < 500:
                return False
        except (urllib.error.URLError, OSError) as exc:
            # The URL may hold a secret token, so only the reason is logged.
            log.warning(
                "handoff destination unreachable (attempt %s): %s", attempt, getattr(exc, "reason", exc)
            )
        if attempt < attempts:
            time.sleep(0.5 * attempt)
    return False


def webhook_url() -> str:
    return os.environ.get("HANDOFF_WEBHOOK_URL", "").strip()


def contact_line() -> str:
    return os.environ.get("HANDOFF_CONTACT_LINE", "").strip() or DEFAULT_CONTACT_LINE


def rasa_url() -> str:
    port = os.environ.get("RASA_PORT", "").strip() or "5005"
    return (os.environ.get("RASA_URL", "").strip() or f"http://127.0.0.1:{port}").rstrip("/")


@dataclass
class Destination:
    """Somewhere the team is told; `timeout`/`attempts` suit who is on the other side."""

    name: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 5.0
    attempts: int = 2

    def send(self, payload: dict[str, Any]) -> bool:
        return post_json(self.url, payload, self.timeout, self.attempts, self.headers)


def destinations() -> tuple[list[Destination], list[str]]:
    """Where handoffs go, read from the environment; also why a configured one is unusable."""
    found: list[Destination] = []
    problems: list[str] = []
    if webhook_url():
        found.append(Destination("webhook", webhook_url()))
    if os.environ.get("SLACK_HANDOFF_CHANNEL", "").strip():
        token = os.environ.get("RASA_API_TOKEN", "").strip()
        if token:
            # One attempt: the connector already retries Slack, a second POST could double-post.
            found.append(
                Destination(
                    "slack",
                    rasa_url() + SLACK_ROUTE,
                    {"Authorization": f"Bearer {token}"},
                    timeout=SLACK_ROUTE_TIMEOUT,
                    attempts=1,
                )
            )
        else:
            problems.append(
                "SLACK_HANDOFF_CHANNEL is set but RASA_API_TOKEN is not (the Slack route needs it)"
            )
    return found, problems


def describe_destinations() -> tuple[bool, str]:
    """The start-up line: (has a destination, what it says)."""
    found, problems = destinations()
    if found:
        where = ", ".join("team webhook" if d.name == "webhook" else "Slack team channel" for d in found)
        return True, f"handoff: the team is told through the {where}" + "".join(f"; {p}" for p in problems)
    why = "; ".join(problems) or "set HANDOFF_WEBHOOK_URL and/or SLACK_HANDOFF_CHANNEL"
    return False, (
        f"handoff has no destination ({why}): customers who ask for a person get the contact "
        f"line instead and the bot keeps answering (HANDOFF_CONTACT_LINE: {contact_line()!r})"
    )


def log_destinations() -> None:
    ok, line = describe_destinations()
    log.log(logging.INFO if ok else logging.WARNING, line)


def notification(tracker: Tracker, reason: str, handoff_id: str = "") -> dict[str, Any]:
    conversation_id = tracker.sender_id
    payload: dict[str, Any] = {
        "event": OPENED,
        "handoff_id": handoff_id,
        "conversation_id": conversation_id,
        "channel": tracker.get_latest_input_channel() or "rest",
        "reason": reason,
        "requested_at": now_iso(),
        "transcript": transcript(tracker),
        # How the team's tool claims and hands back (Rasa's HTTP API, with RASA_API_TOKEN).
        "claim": {
            "method": "POST",
            "path": trigger_path(conversation_id),
            "body": agent_request(CLAIM_INTENT),
        },
        "hand_back": {
            "method": "POST",
            "path": trigger_path(conversation_id),
            "body": agent_request(RESOLVE_INTENT),
        },
        # Add `output_channel=latest` to the query so Rasa delivers to the customer's channel.
        "reply": {
            "method": "POST",
            "path": trigger_path(conversation_id),
            "query": {"output_channel": "latest"},
            "body": {
                "name": steps.AGENT_MESSAGE_INTENT,
                "entities": {AGENT_ENTITY: "<agent>", steps.AGENT_TEXT_ENTITY: "<text>"},
            },
        },
    }
    template = os.environ.get("HANDOFF_CONVERSATION_URL", "")
    if template:
        payload["conversation_url"] = template.format(conversation_id=urllib.parse.quote(conversation_id))
    return payload


async def deliver(payload: dict[str, Any], targets: list[Destination]) -> list[str]:
    """Send to every destination at once; the names of those that accepted it."""
    loop = asyncio.get_running_loop()
    results = await asyncio.gather(*(loop.run_in_executor(None, d.send, payload) for d in targets))
    return [d.name for d, ok in zip(targets, results, strict=True) if ok]


def record_event(record: HandoffRecord, event: str, **extra: Any) -> dict[str, Any]:
    """A webhook event about a recorded handoff: the record's fields, then the step's own."""
    fields = {k: v for k, v in record.as_dict().items() if k not in ("id", "delivered_to")}
    return {"event": event, "handoff_id": record.id, **fields, **extra}


async def in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    # A SQLite commit or an HTTP POST waits for the disk or the network: never on the loop.
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: function(*args, **kwargs))


def _handed_back_at(tracker: Tracker) -> str | None:
    """When the bot got the conversation back by a bare slot reset (no claim/resolve intent)."""
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == HANDOFF_SLOT and not event.get("value"):
            stamp = event.get("timestamp")
            return _iso(stamp) if stamp else None
    return None


def _reconcile(store: HandoffStore, tracker: Tracker) -> None:
    """Close a record left open by a hand-back that set the slot directly through the API."""
    stale = store.current(tracker.sender_id)
    if stale is not None:
        store.resolve(tracker.sender_id, outcome=HANDED_BACK, at=_handed_back_at(tracker))


async def start_handoff(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str
) -> list[dict[str, Any]]:
    """Tell the team, then the customer; silences the bot only if the team was told."""
    store = handoff_store()
    await in_thread(_reconcile, store, tracker)
    payload = notification(tracker, reason, store.new_id())
    targets, _ = destinations()
    told = await deliver(payload, targets) if targets else []
    await in_thread(
        store.open,
        payload["handoff_id"],
        tracker.sender_id,
        payload["channel"],
        reason,
        told,
        outcome=DELIVERY_FAILED if targets else NO_DESTINATION,
        at=payload["requested_at"],
    )
    if not told:
        # Nobody would come: give the customer a way to reach the team and keep helping.
        if targets:
            log.error(
                "handoff for conversation %s reached no destination (%s)",
                tracker.sender_id,
                ", ".join(d.name for d in targets),
            )
            dispatcher.utter_message(response="utter_handoff_failed", contact=contact_line())
        else:
            log.warning("handoff for conversation %s: no destination configured", tracker.sender_id)
            dispatcher.utter_message(response="utter_handoff_unavailable", contact=contact_line())
        return [SlotSet(UNANSWERED_SLOT, 0.0)]
    log.info(
        "conversation %s handed to the support team (%s) via %s", tracker.sender_id, reason, ", ".join(told)
    )
    dispatcher.utter_message(response="utter_handoff")
    # For the connectors, never shown to the customer: the SMS connector adds the number
    # (which only it knows) to the team's Slack notice.
    dispatcher.utter_message(
        json_message=contract.handoff(
            payload["handoff_id"], payload["conversation_id"], payload["channel"], reason, told
        )
    )
    return [SlotSet(HANDOFF_SLOT, True), SlotSet(UNANSWERED_SLOT, 0.0)]


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if tracker.get_slot(HANDOFF_SLOT):
            return []
        return await start_handoff(dispatcher, tracker, handoff_reason(tracker))


async def tell_team(payload: dict[str, Any]) -> list[str]:
    """A later step of a handoff, to every destination (the Slack desk shows it in the
    handoff's thread); one attempt each: a missed step must not hold up the conversation."""
    targets, _ = destinations()
    for target in targets:
        target.attempts = 1
    return await deliver(payload, targets) if targets else []


class ActionHandoffSilence(Action):
    """Runs instead of any reply while a person has the conversation."""

    def name(self) -> str:
        return "action_handoff_silence"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = (tracker.latest_message or {}).get("text") or ""
        if not text:
            return []
        record = await in_thread(handoff_store().touch, tracker.sender_id)
        # Agents see what the customer adds meanwhile (the desk posts it in the thread).
        update = {
            "event": CUSTOMER_MESSAGE,
            "handoff_id": record.id if record else None,
            "conversation_id": tracker.sender_id,
            "channel": tracker.get_latest_input_channel() or "rest",
            "text": text,
            "time": now_iso(),
        }
        await tell_team(update)
        return []


def _agent(tracker: Tracker) -> str:
    return _entity(tracker, AGENT_ENTITY)[:200]


def _entity(tracker: Tracker, name: str) -> str:
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return ""


class ActionHandoffClaimed(Action):
    """An agent took the conversation (`EXTERNAL_handoff_claimed`): recorded; the bot stays quiet."""

    def name(self) -> str:
        return "action_handoff_claimed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        agent = _agent(tracker) or "unnamed agent"
        record = await in_thread(handoff_store().claim, tracker.sender_id, agent)
        if record is None:
            log.warning("claim for conversation %s, which has no open handoff", tracker.sender_id)
            return []
        log.info("handoff %s (conversation %s) claimed", record.id, tracker.sender_id)
        await tell_team(record_event(record, CLAIMED))
        return []


class ActionHandoffResolved(Action):
    """The team hands the conversation back (`EXTERNAL_handoff_resolved`): the customer is
    told, and the bot answers again."""

    def name(self) -> str:
        return "action_handoff_resolved"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        record = await in_thread(handoff_store().resolve, tracker.sender_id, _agent(tracker) or None)
        if record is None:
            log.info("hand-back for conversation %s, which has no open handoff", tracker.sender_id)
        else:
            log.info("handoff %s (conversation %s) resolved", record.id, tracker.sender_id)
            await tell_team(record_event(record, RESOLVED))
        if tracker.get_slot(HANDOFF_SLOT):
            dispatcher.utter_message(response="utter_handoff_resolved")
        return [SlotSet(HANDOFF_SLOT, False), SlotSet(UNANSWERED_SLOT, 0.0)]


class ActionAgentMessage(Action):
    """An agent wrote to the customer (`EXTERNAL_agent_message`, from the Slack desk or any
    tool): sent as an `agent_message` payload, in the customer's channel's format, so the
    tracker tells it from the bot's words. The first message claims an unclaimed handoff."""

    def name(self) -> str:
        return "action_agent_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = _entity(tracker, steps.AGENT_TEXT_ENTITY)[:AGENT_TEXT_LIMIT].strip()
        agent = _agent(tracker)
        store = handoff_store()
        record = await in_thread(store.current, tracker.sender_id)
        if record is None or not text:
            log.warning(
                "agent message for conversation %s, which has no open handoff: not sent", tracker.sender_id
            )
            return []
        if record.status == OPEN:
            record = await in_thread(store.claim, tracker.sender_id, agent or "unnamed agent")
            if record is not None:
                await tell_team(record_event(record, CLAIMED))
        record = await in_thread(store.touch, tracker.sender_id)
        channel = tracker.get_latest_input_channel()
        dispatcher.utter_message(json_message=render_agent_message(text, agent, channel))
        if record is not None:
            await tell_team(record_event(record, steps.AGENT_MESSAGE, text=text))
        return []


def waiting_wait() -> float:
    return support_hours.seconds(os.environ.get("HANDOFF_UNCLAIMED_WAIT", ""), 300.0)


def idle_timeout() -> float:
    return support_hours.seconds(os.environ.get("HANDOFF_IDLE_TIMEOUT", ""), 1800.0)


def _iso_ago(seconds: float) -> str:
    return _iso(time.time() - seconds)


class _HandoffDeadline(Action, ABC):
    """A step the timer triggers (actions/handoff_timer.py) when a stored deadline has
    passed. Checked again here, under the conversation's lock, on the conversation's
    current handoff: a claim or a message that came after the timer looked wins."""

    action_name = ""

    def name(self) -> str:
        return self.action_name

    @abstractmethod
    def is_due(self, record: HandoffRecord) -> bool: ...

    @abstractmethod
    async def step(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, store: HandoffStore, record: HandoffRecord
    ) -> list[dict[str, Any]]: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        store = handoff_store()
        record = await in_thread(store.current, tracker.sender_id)
        if record is None or not self.is_due(record):
            return []
        return await self.step(dispatcher, tracker, store, record)


class ActionHandoffWaiting(_HandoffDeadline):
    """Nobody claimed the handoff within HANDOFF_UNCLAIMED_WAIT (`EXTERNAL_handoff_waiting`):
    the customer hears that they are still in the queue, or, outside SUPPORT_HOURS, when
    someone will answer. Once per handoff."""

    action_name = "action_handoff_waiting"

    def is_due(self, record: HandoffRecord) -> bool:
        return record.status == OPEN and record.opened_at <= _iso_ago(waiting_wait())

    async def step(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, store: HandoffStore, record: HandoffRecord
    ) -> list[dict[str, Any]]:
        if not await in_thread(store.mark_waiting, record.id):
            return []  # another replica, or an earlier tick, already told the customer
        hours = support_hours.from_env()
        opens = hours.next_opening() if hours is not None and not hours.is_open() else None
        if opens is None:
            dispatcher.utter_message(response="utter_handoff_waiting")
        else:
            dispatcher.utter_message(
                response="utter_handoff_waiting_closed",
                opens=hours.describe(opens, tracker.get_slot("language")),
            )
        log.info("handoff %s (conversation %s): customer told to wait", record.id, tracker.sender_id)
        extra = {"opens_at": opens.isoformat()} if opens is not None else {}
        await tell_team(record_event(await in_thread(store.get, record.id), steps.WAITING, **extra))
        return []


class ActionHandoffExpired(_HandoffDeadline):
    """A claimed handoff with no message either way for HANDOFF_IDLE_TIMEOUT goes back to the
    bot (`EXTERNAL_handoff_expired`): recorded as timed out, the team's thread says so, the
    customer is told the assistant is back."""

    action_name = "action_handoff_expired"

    def is_due(self, record: HandoffRecord) -> bool:
        last_activity = record.last_activity_at or record.claimed_at or record.opened_at
        return record.status == CLAIMED_STATUS and last_activity <= _iso_ago(idle_timeout())

    async def step(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, store: HandoffStore, record: HandoffRecord
    ) -> list[dict[str, Any]]:
        closed = await in_thread(store.resolve, tracker.sender_id, None, TIMED_OUT)
        log.info("handoff %s (conversation %s) timed out: back to the bot", record.id, tracker.sender_id)
        if closed is not None:
            await tell_team(record_event(closed, RESOLVED))
        dispatcher.utter_message(response="utter_handoff_expired")
        return [SlotSet(HANDOFF_SLOT, False), SlotSet(UNANSWERED_SLOT, 0.0)]


def trigger(
    rasa_url: str,
    conversation_id: str,
    intent: str,
    agent: str = "",
    token: str = "",
    entities: dict[str, str] | None = None,
) -> None:
    """Trigger an external intent through Rasa's HTTP API; what the action says goes to the
    customer's own channel (`output_channel=latest`)."""
    params = {"token": token} if token else {}
    params["output_channel"] = "latest"
    query = f"?{urllib.parse.urlencode(params)}"
    request_body = agent_request(intent, agent)
    request_body["entities"].update(entities or {})
    body = json.dumps(request_body).encode()
    request = urllib.request.Request(
        rasa_url.rstrip("/") + trigger_path(conversation_id) + query,
        body,
        {"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def release(rasa_url: str, conversation_id: str, token: str = "", agent: str = "") -> None:
    """Hand a conversation back to the bot through Rasa's HTTP API."""
    trigger(rasa_url, conversation_id, RESOLVE_INTENT, agent, token)


def format_record(record: HandoffRecord) -> str:
    who = f"  claimed {record.claimed_at} by {record.agent}" if record.claimed_at else ""
    end = f"  {record.outcome or ''} {record.resolved_at or ''}".rstrip() if record.outcome else ""
    return (
        f"{record.opened_at}  {record.status:<11} {record.conversation_id}  ({record.channel}, "
        f"{record.reason}; told: {', '.join(record.delivered_to) or 'nobody'}){who}{end}  [{record.id}]"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actions.handoff", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, what in (("release", "hand a conversation back to the bot"), ("claim", "take a conversation")):
        command = sub.add_parser(name, help=what)
        command.add_argument("conversation_id")
        command.add_argument("--agent", default="", help="who (recorded, and sent to the team webhook)")
        command.add_argument("--rasa-url", default=os.environ.get("RASA_URL", "http://localhost:5005"))
        command.add_argument("--token", default=os.environ.get("RASA_API_TOKEN", ""), help="Rasa API token")
    listing = sub.add_parser("list", help="open handoffs, the longest-waiting first")
    listing.add_argument("--db", help="handoff database (default: $HANDOFF_DB, else beside $FEEDBACK_DB)")
    listing.add_argument("--all", action="store_true", help="every handoff, newest first")
    listing.add_argument("--limit", type=int, default=100)
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)

    if args.command == "list":
        store = HandoffStore(args.db) if args.db else HandoffStore()
        records = store.listing(open_only=not args.all, limit=args.limit)
        for record in records:
            print(json.dumps(record.as_dict(), ensure_ascii=False) if args.json else format_record(record))
        if not records and not args.json:
            print("no open handoffs" if not args.all else "no handoffs yet", file=sys.stderr)
        return 0

    intent = RESOLVE_INTENT if args.command == "release" else CLAIM_INTENT
    try:
        trigger(args.rasa_url, args.conversation_id, intent, args.agent, args.token)
    except urllib.error.HTTPError as exc:
        print(f"Rasa at {args.rasa_url} refused: HTTP {exc.code} (is --token right?)", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"could not reach Rasa at {args.rasa_url}: {exc}", file=sys.stderr)
        return 1
    done = "handed back to the bot" if args.command == "release" else "claimed"
    print(f"conversation {args.conversation_id} {done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
