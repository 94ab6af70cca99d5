"""Run conversation turns in the background so webhooks are acknowledged at once.

Platforms time out (Slack after 3 s) and then retry; answering from the knowledge base
can take longer. Tasks are tracked so none is garbage-collected mid-turn, failures are
logged with the conversation id instead of vanishing, and shutdown waits for them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

logger = logging.getLogger(__name__)


class TurnRunner:
    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._tasks: set[asyncio.Task] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, turn: Coroutine[Any, Any, Any], conversation: str) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(self._guard(turn, conversation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guard(self, turn: Coroutine[Any, Any, Any], conversation: str) -> None:
        try:
            await turn
        except asyncio.CancelledError:
            logger.warning("%s: turn cancelled (conversation %s)", self.channel, conversation)
            raise
        except Exception:
            logger.exception("%s: turn failed (conversation %s)", self.channel, conversation)

    async def drain(self, timeout: float = 30.0) -> None:
        """Let running turns finish; cancel whatever is still running after `timeout`."""
        if not self._tasks:
            return
        pending = set(self._tasks)
        logger.info("%s: waiting for %d running turn(s) before shutdown", self.channel, len(pending))
        done, still = await asyncio.wait(pending, timeout=timeout)
        for task in still:
            task.cancel()
        if still:
            await asyncio.gather(*still, return_exceptions=True)
