"""Rasa's SQL tracker store, with its database work moved off the server's event loop.

Rasa 3.6's `SQLTrackerStore` has `async` methods whose bodies are synchronous SQLAlchemy
calls, so every turn's read and commit (SQLite's commit waits for the disk) stop the one
event loop that also answers webhooks. `py-spy --idle` of `bench.channels` at 32 Slack
conversations showed the loop inside tracker-store code for 22 % of the wall time, 9 %
of it in SQLite's commit alone: time in which no acknowledgement, no reply and no other
conversation's turn could move.

This store is Rasa's SQL tracker store (same tables, same rows, same dialects and
options) whose reads and writes run on one worker thread of its own, as SQLAlchemy Core
statements built once: Rasa builds an ORM query (with its subquery) and an ORM object per
event on every turn, which was most of the store's CPU time (py-spy, 64 conversations). One thread keeps
SQLite's single writer uncontended and the writes in the order the turns made them;
Rasa's conversation lock still keeps two turns of one conversation apart. Configured in
`endpoints.yml` as `type: rasa_ext.tracker_store.SQLTrackerStore` with the options of
Rasa's `type: SQL` (`dialect`, `db`, `url`, `port`, `username`, `password`, `login_db`,
`query`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core import tracker_store as rasa_stores
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

T = TypeVar("T")


class SQLTrackerStore(rasa_stores.SQLTrackerStore):
    """Drop-in for `type: SQL` that never blocks the event loop on the database."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracker-store")
        if self.engine.dialect.name == "sqlite":
            if self.engine.url.database in (None, "", ":memory:"):
                # An in-memory SQLite database exists once per thread (SQLAlchemy's
                # SingletonThreadPool): give the worker thread its own tables too.
                self._worker.submit(self.Base.metadata.create_all, self.engine).result()
            else:
                self._tune_sqlite_file()
        events = self.SQLEvent.__table__
        sender = sa.bindparam("sender_id")
        # The latest session's events, exactly as Rasa's `_event_query` selects them.
        session_start = (
            sa.select(sa.func.max(events.c.timestamp))
            .where(events.c.sender_id == sender, events.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        latest_session = sa.and_(
            events.c.sender_id == sender,
            sa.or_(events.c.timestamp >= session_start, session_start.is_(None)),
        )
        self._count_latest = sa.select(sa.func.count()).select_from(events).where(latest_session)
        self._data_latest = sa.select(events.c.data).where(latest_session).order_by(events.c.id)
        self._data_all = sa.select(events.c.data).where(events.c.sender_id == sender).order_by(events.c.id)
        self._insert = events.insert()
        self._senders = sa.select(events.c.sender_id).distinct()

    def _tune_sqlite_file(self) -> None:
        """Keep one connection on the worker thread, and write-ahead logging.

        SQLAlchemy 1.4 opens a new SQLite connection for every session of a file database
        (NullPool): two per turn. Write-ahead logging makes a commit one append and one
        sync of the log instead of syncing a rollback journal and the database (measured
        here: 0.27 vs 1.03 ms a commit). `synchronous` stays FULL, so a commit that
        returned survives a power cut as before; the database gets `-wal`/`-shm` files
        beside it (and wants a local disk, as SQLite always does).
        """
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, poolclass=sa.pool.SingletonThreadPool)

        @sa.event.listens_for(self.engine, "connect")
        def _wal(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)

    async def _off_loop(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker, work, *args)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        return await self._off_loop(self._read, sender_id, fetch_events_from_all_sessions)

    def _read(self, sender_id: str, all_sessions: bool) -> DialogueStateTracker | None:
        query = self._data_all if all_sessions else self._data_latest
        with self.session_scope() as session:
            rows = session.execute(query, {"sender_id": sender_id}).scalars().all()
        if not self.domain or not rows:
            return None
        return DialogueStateTracker.from_dict(sender_id, [json.loads(row) for row in rows], self.domain.slots)

    async def keys(self) -> Iterable[str]:
        return await self._off_loop(self._read_senders)

    def _read_senders(self) -> list[str]:
        with self.session_scope() as session:
            return list(session.execute(self._senders).scalars())

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)  # event broker, if any, stays on the loop
        await self._off_loop(self._write_new_events, tracker)

    def _write_new_events(self, tracker: DialogueStateTracker) -> None:
        """Append the events the database does not have yet, as Rasa's `save` does: the
        tracker's events past the number already stored for its latest session."""
        with self.session_scope() as session:
            stored = session.execute(self._count_latest, {"sender_id": tracker.sender_id}).scalar_one()
            rows = []
            for event in list(tracker.events)[stored:]:
                data = event.as_dict()
                rows.append(
                    {
                        "sender_id": tracker.sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            if rows:
                session.execute(self._insert, rows)
            session.commit()
