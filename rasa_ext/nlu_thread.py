"""Parse messages (the NLU graph) on a thread of their own, off the event loop.

Rasa 3.6 runs the NLU graph synchronously inside the event loop: tokenizer, featurizers,
DIET and the fallback classifier in one piece of 6-10 ms of CPU, longer when the OS gives
the core to the action server. Every webhook that arrives meanwhile waits for it before it
is even read, so at 64 conversations the platforms' acknowledgements queued behind a row
of parses (p99 105-190 ms against a target of 100; Slack retries after 3 s).

On one worker thread the parse still costs the same CPU and parses still run one at a
time, but the loop can take the interpreter lock back at Python's switch interval (5 ms)
to read a webhook, answer it, or pass a reply on. The thread only runs the NLU target of
the graph; dialogue predictions stay on the loop, and the rest of `parse_message` (the
retrieval-intent update, its log line, the unseen-feature check) is Rasa's own code.
`RASA_NLU_THREAD=0` keeps Rasa's behaviour.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from typing import Any

_executor: ThreadPoolExecutor | None = None
# The parse that the current task's `parse_message` already computed on the thread.
_parsed: ContextVar[tuple[Any, dict] | None] = ContextVar("nimbus_parsed_message", default=None)


def enabled() -> bool:
    return os.environ.get("RASA_NLU_THREAD", "1").strip().lower() not in {"0", "false", "no", "off"}


def _worker() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(1, thread_name_prefix="nlu-parse")
    return _executor


def install() -> None:
    if not enabled():
        return
    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.trackers import DialogueStateTracker

    parse_with_graph = MessageProcessor._parse_message_with_graph
    parse_message = MessageProcessor.parse_message

    def _parse_message_with_graph(self, message, tracker, only_output_properties: bool = True) -> dict:
        ready = _parsed.get()
        if ready is not None and ready[0] is message:
            return ready[1]
        return parse_with_graph(self, message, tracker, only_output_properties)

    async def _parse_message(self, message, tracker=None, only_output_properties: bool = True) -> dict:
        if self.http_interpreter:
            return await parse_message(self, message, tracker, only_output_properties)
        graph_tracker = tracker
        if graph_tracker is None:
            graph_tracker = DialogueStateTracker.from_events(message.sender_id, [])
        parsed = await asyncio.get_running_loop().run_in_executor(
            _worker(), parse_with_graph, self, message, graph_tracker, only_output_properties
        )
        token = _parsed.set((message, parsed))
        try:
            return await parse_message(self, message, tracker, only_output_properties)
        finally:
            _parsed.reset(token)

    MessageProcessor._parse_message_with_graph = _parse_message_with_graph
    MessageProcessor.parse_message = _parse_message
