"""Apologise, and say why in the log, when the conversation stores are unreachable.

With Redis gone, Rasa 3.6 fails to take the conversation's lock, logs a long traceback
that names neither the conversation nor the cause in plain words, and the channel sends
the customer nothing. Here the failure becomes one log line naming the conversation and
the store, and the customer gets the same short apology as for a failed action. Nothing
is retried: the customer's next message is the retry, and works as soon as Redis is back
(Rasa's Redis clients reconnect on their own).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core import agent as rasa_agent
from rasa.core.lock_store import LockError

from rasa_ext.action_fallback import APOLOGY_RESPONSE, DEFAULT_APOLOGY, conversation_ref

log = logging.getLogger(__name__)


def _store_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [LockError]
    try:
        import redis

        errors.append(redis.exceptions.RedisError)
    except ImportError:  # pragma: no cover - redis ships with the Rasa environment here
        pass
    return tuple(errors)


def _apology_text(domain: Any) -> str:
    for variant in (getattr(domain, "responses", {}) or {}).get(APOLOGY_RESPONSE, []):
        if variant.get("text"):
            return variant["text"]
    return DEFAULT_APOLOGY


def install() -> None:
    original = rasa_agent.Agent.handle_message
    errors = _store_errors()

    async def handle_message(self: rasa_agent.Agent, message: Any) -> Any:
        try:
            return await original(self, message)
        except errors as exc:
            store = type(getattr(self, "lock_store", None)).__name__
            reason = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
            log.error(
                "conversation store unavailable (%s) for conversation %s: %s; replied with an apology",
                store,
                conversation_ref(message.sender_id),
                reason,
            )
            channel = getattr(message, "output_channel", None)
            if channel is not None:
                await channel.send_text_message(message.sender_id, _apology_text(self.domain))
            return None

    rasa_agent.Agent.handle_message = handle_message
