"""How long a piece of work leaves the event loop unable to run anything else.

The additions that move work off Rasa's loop (tracker store, parsing) are tested the same
way: a heartbeat coroutine asks to wake every `tick` seconds while the work runs, and the
longest gap between its wake-ups is what any webhook arriving meanwhile would have waited.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def longest_stall(work: Awaitable[T], tick: float = 0.005, settle: float = 0.02) -> tuple[T, float]:
    """The work's result and the longest gap between heartbeats (seconds)."""
    gaps: list[float] = []

    async def heartbeat() -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    beat = asyncio.ensure_future(heartbeat())
    try:
        await asyncio.sleep(settle)
        result = await work
        await asyncio.sleep(settle)  # let the heartbeat note the gap the work left, if any
    finally:
        beat.cancel()
    return result, max(gaps)
