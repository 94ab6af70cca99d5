"""When and how long to wait before asking the model again.

Retries are for failures that may pass (timeouts, lost connections, 408/409/429, 5xx);
waits grow exponentially with random jitter so that many replicas hit by the same outage
do not retry in lock-step. A server's `Retry-After` is honoured only if it fits in the
time left for this answer: a customer is waiting, and the extractive answer is ready.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

INITIAL_DELAY = 0.5
MAX_DELAY = 4.0
RETRYABLE_STATUS = frozenset({408, 409, 429})


def is_retryable(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500
    return False


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms` or `retry-after`), if any."""
    response: Any = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return max(0.0, float(raw) * scale)
        except ValueError:
            continue  # an HTTP date: rare from model APIs; fall back to our own backoff
    return None


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with "equal jitter": between half and all of the step."""
    step = min(MAX_DELAY, INITIAL_DELAY * (2**attempt))
    return step / 2 + rng() * step / 2


def delay_before_retry(
    exc: BaseException, attempt: int, rng: Callable[[], float] = random.random
) -> float | None:
    """None when this failure is not worth retrying."""
    if not is_retryable(exc):
        return None
    asked = retry_after(exc)
    # `Retry-After: 0` (common on 429) still gets jitter, or every client returns at once.
    return asked if asked else backoff(attempt, rng)
