"""Rasa's SQL tracker store, with its database work moved off the server's event loop.

Rasa 3.6's `SQLTrackerStore` has `async` methods whose bodies are synchronous SQLAlchemy
calls, so every turn's read and commit (SQLite's commit waits for the disk) stop the one
event loop that also answers webhooks. `py-spy --idle` of `bench.channels` at 32 Slack
conversations showed the loop inside tracker-store code for 22 % of the wall time, 9 %
of it in SQLite's commit alone: time in which no acknowledgement, no reply and no other
conversation's turn could move.

This store is Rasa's SQL tracker store (same tables, same rows, same dialects and
options) whose reads and writes run on one worker thread of its own. One thread keeps
SQLite's single writer uncontended and the writes in the order the turns made them;
Rasa's conversation lock still keeps two turns of one conversation apart. Configured in
`endpoints.yml` as `type: rasa_ext.tracker_store.SQLTrackerStore` with the options of
Rasa's `type: SQL` (`dialect`, `db`, `url`, `port`, `username`, `password`, `login_db`,
`query`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from rasa.core import tracker_store as rasa_stores
from rasa.shared.core.trackers import DialogueStateTracker

T = TypeVar("T")


def run_without_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (Rasa's SQL reads are `async` only in name)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("the tracker store tried to wait on the event loop from its worker thread")


class SQLTrackerStore(rasa_stores.SQLTrackerStore):
    """Drop-in for `type: SQL` that never blocks the event loop on the database."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracker-store")
        if self.engine.url.database in (None, "", ":memory:"):
            # An in-memory SQLite database exists once per thread (SQLAlchemy's
            # SingletonThreadPool): give the worker thread its own tables too.
            self._worker.submit(self.Base.metadata.create_all, self.engine).result()

    async def _off_loop(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker, work, *args)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        parent = super()._retrieve

        def read() -> DialogueStateTracker | None:
            return run_without_loop(parent(sender_id, fetch_events_from_all_sessions))

        return await self._off_loop(read)

    async def keys(self) -> Iterable[str]:
        parent = super().keys
        return await self._off_loop(lambda: run_without_loop(parent()))

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)  # event broker, if any, stays on the loop
        await self._off_loop(self._write_new_events, tracker)

    def _write_new_events(self, tracker: DialogueStateTracker) -> None:
        """Append the events the database does not have yet, as Rasa's `save` does."""
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
