"""What the customer gets when the action server is down, failing or too slow.

Rasa 3.6 logs the failed call and then says nothing: the customer is left waiting for a
reply that never comes. The `action_apology` patch (rasa_ext/patches.py) bounds each
custom-action call (Rasa's own limit is 5 minutes) and turns any failure into the domain
response `utter_action_failed` (or a built-in sentence if the domain lacks it), built here
from Rasa's public API. A deliberate rejection by the action (HTTP 400) still goes back to
Rasa's policies.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from typing import Any

from rasa.core.actions import action as rasa_action

log = logging.getLogger(__name__)

APOLOGY_RESPONSE = "utter_action_failed"
FALLBACK_RESPONSES = ("utter_kb_unavailable",)
DEFAULT_APOLOGY = "Sorry, something went wrong on my side. Please try again in a minute."
DEFAULT_TIMEOUT = 35.0
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{7,}$")


def action_timeout() -> float:
    """Seconds to wait for the action server; must exceed the model's total budget."""
    raw = os.environ.get("ACTION_TIMEOUT", "").strip()
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        log.warning("ACTION_TIMEOUT=%r is not a number; using %.0f s", raw, DEFAULT_TIMEOUT)
        return DEFAULT_TIMEOUT


def conversation_ref(sender_id: str) -> str:
    """The conversation id for logs; phone numbers (SMS senders) are hashed, never printed."""
    if _PHONE_LIKE.match(sender_id or ""):
        return "sha256:" + hashlib.sha256(sender_id.encode()).hexdigest()[:12]
    return sender_id or "-"


def describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return f"no answer within {action_timeout():.0f} s"
    cause = exc.__cause__ or exc.__context__
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    if cause is not None and getattr(cause, "status", None):
        text += f" (HTTP {cause.status})"
    return text


async def apology_events(nlg: Any, tracker: Any, output_channel: Any, domain: Any) -> list:
    for name in (APOLOGY_RESPONSE, *FALLBACK_RESPONSES):
        if name in domain.responses:
            draft = await nlg.generate(name, tracker, output_channel.name())
            if draft:
                draft["utter_action"] = name
                return [rasa_action.create_bot_utterance(draft)]
    return [rasa_action.create_bot_utterance({"text": DEFAULT_APOLOGY})]


def log_failure(action_name: str, sender_id: str, reason: str) -> None:
    log.error(
        "custom action %s failed for conversation %s: %s; replied with an apology",
        action_name,
        conversation_ref(sender_id),
        reason,
    )
