"""Hand a customer's message to Rasa; apologise when the conversation stores are down.

With Redis (or the SQL database) gone, Rasa 3.6 fails to take the conversation's lock or
read its history, raises out of `on_new_message`, and the channel would send the customer
nothing. Here, at the one place our connectors hand a message to Rasa, that failure
becomes one log line naming the conversation and the store error, and the customer gets
the bot's apology (the domain's `utter_action_failed`, as for a failed action). Nothing is
retried: the customer's next message is the retry, and works as soon as the store is back
(Rasa's Redis clients reconnect on their own). Other errors propagate as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import LockError

logger = logging.getLogger(__name__)

APOLOGY_RESPONSE = "utter_action_failed"
DEFAULT_APOLOGY = "Sorry, something went wrong on my side. Please try again in a minute."


def _store_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [LockError]
    try:
        import redis

        errors.append(redis.exceptions.RedisError)
    except ImportError:  # pragma: no cover - redis ships with Rasa
        pass
    try:
        import sqlalchemy.exc

        errors.append(sqlalchemy.exc.OperationalError)
    except ImportError:  # pragma: no cover - sqlalchemy ships with Rasa
        pass
    return tuple(errors)


STORE_ERRORS = _store_errors()


def apology_text() -> str:
    """The running bot's own words for "something went wrong" (its domain), if loaded."""
    try:
        from sanic import Sanic

        domain = Sanic.get_app().ctx.agent.domain
        for variant in domain.responses.get(APOLOGY_RESPONSE, []):
            if variant.get("text"):
                return variant["text"]
    except Exception:  # noqa: BLE001 - no app, no agent or no domain yet: the default
        pass
    return DEFAULT_APOLOGY


async def hand_to_rasa(on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage) -> bool:
    """Run the turn; False when the stores were unreachable and the customer got an apology."""
    try:
        await on_new_message(message)
        return True
    except STORE_ERRORS as exc:
        lines = str(exc).strip().splitlines()
        logger.error(
            "conversation store unavailable for conversation %s: %s; replied with an apology",
            message.sender_id,
            (lines[-1][:200] if lines else type(exc).__name__),
        )
        await message.output_channel.send_text_message(message.sender_id, apology_text())
        return False
