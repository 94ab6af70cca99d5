"""Deliver replies within platform limits, retrying the failures that are worth retrying.

Splitting prefers paragraph, then line, then sentence, then word boundaries, so a long
answer reads as several natural messages instead of being cut mid-word. Retries honour
the platform's own Retry-After, because retrying a 429 sooner only extends the ban.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
MAX_RETRY_AFTER = 60.0


class TransientError(Exception):
    """A failure that may succeed later (429, 5xx, network); `retry_after` in seconds if given."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _pieces(text: str, separator: str | re.Pattern[str]) -> list[str]:
    if isinstance(separator, str):
        parts = text.split(separator)
        return [p + separator for p in parts[:-1]] + [parts[-1]]
    spans: list[str] = []
    start = 0
    for match in separator.finditer(text):
        spans.append(text[start : match.end()])
        start = match.end()
    spans.append(text[start:])
    return spans


_LEVELS: list[str | re.Pattern[str]] = ["\n\n", "\n", _SENTENCE_END, " "]


def split_text(text: str, limit: int, length: Callable[[str], int] = len) -> list[str]:
    """Split `text` into parts no longer than `limit`, at the most natural boundary available."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    text = text.strip()
    if not text:
        return []
    return [p.strip() for p in _split(text, limit, 0, length) if p.strip()]


def _split(text: str, limit: int, level: int, length: Callable[[str], int]) -> list[str]:
    if length(text) <= limit:
        return [text]
    if level >= len(_LEVELS):
        return _hard_cut(text, limit, length)
    parts: list[str] = []
    current = ""
    for piece in _pieces(text, _LEVELS[level]):
        if length(current + piece) <= limit:
            current += piece
            continue
        if current.strip():
            parts.append(current)
        if length(piece) > limit:
            parts.extend(_split(piece, limit, level + 1, length))
            current = ""
        else:
            current = piece
    if current.strip():
        parts.append(current)
    return parts


def _hard_cut(text: str, limit: int, length: Callable[[str], int]) -> list[str]:
    parts: list[str] = []
    current = ""
    for char in text:
        if length(current + char) > limit:
            parts.append(current)
            current = ""
        current += char
    if current:
        parts.append(current)
    return parts


async def send_with_retry(
    operation: Callable[[], Awaitable[T]],
    *,
    what: str,
    conversation: str,
    attempts: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 20.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T | None:
    """Run `operation`, retrying `TransientError` with backoff; return None after giving up.

    Failures are logged with the conversation id and never raised: a lost reply must not
    crash the turn, and the user's message is already safe in the tracker.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await operation()
        except TransientError as exc:
            if attempt == attempts:
                logger.error(
                    "%s failed after %d attempts (conversation %s): %s", what, attempts, conversation, exc
                )
                return None
            if exc.retry_after is not None:
                delay = min(max(exc.retry_after, 0.0), MAX_RETRY_AFTER)
            else:
                delay = min(max_delay, base_delay * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            logger.warning(
                "%s: %s; retry %d/%d in %.1f s (conversation %s)",
                what,
                exc,
                attempt,
                attempts - 1,
                delay,
                conversation,
            )
            await sleep(delay)
        except Exception as exc:  # noqa: BLE001 - permanent errors are logged, not raised
            logger.error("%s failed (conversation %s): %s: %s", what, conversation, type(exc).__name__, exc)
            return None
    return None


def parse_retry_after(value: object) -> float | None:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
