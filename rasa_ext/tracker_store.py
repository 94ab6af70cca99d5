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
`query`), plus `cached_conversations`.

Turning a conversation's rows back into events costs more than anything else in a read:
5-6 ms of the server's one interpreter lock for a 14-turn conversation (117 events), of
which decoding the JSON is ~1 ms and building the event objects the rest; replaying
events the process already has takes 0.1-0.2 ms (one-off timing on benchmark trackers).
So the store keeps the events it last wrote or read for the `cached_conversations` most
recent conversations (default 200; 0 turns it off). The bound is about Python's garbage
collector as much as memory (~2.4 KB per event, ~0.3 MB for a 14-turn conversation): kept
events are long-lived objects that every full collection walks while the event loop
waits, 8.4 ms for 64 conversations of 117 events (one-off measurement), so 200 long
conversations would cost a pause of about 25 ms now and then. Every read still asks the
database for the latest session's number of events and highest row id, one indexed
query, and uses the kept events only when both match: a turn that another replica
stored in between, a new session or a deleted conversation changes them, and the read
then decodes the rows as before. The kept events are shared by the trackers built from
them, as Rasa's own `tracker.copy()` shares them: Rasa treats an event as immutable once
it is in a tracker.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core import tracker_store as rasa_stores
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.readiness import register_tracker_store

T = TypeVar("T")


class SQLTrackerStore(rasa_stores.SQLTrackerStore):
    """Drop-in for `type: SQL` that never blocks the event loop on the database."""

    def __init__(self, *args: Any, cached_conversations: int = 200, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        register_tracker_store(self)
        # Only the worker thread touches this: sender id -> ((count, highest id), events).
        self._kept: OrderedDict[str, tuple[tuple[int, int | None], list[Event]]] = OrderedDict()
        self._keep = max(0, int(cached_conversations))
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
        self._version_latest = (
            sa.select(sa.func.count(), sa.func.max(events.c.id)).select_from(events).where(latest_session)
        )
        self._data_latest = sa.select(events.c.id, events.c.data).where(latest_session).order_by(events.c.id)
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

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        return await self._off_loop(self._read, sender_id, False)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        return await self._off_loop(self._read, conversation_id, True)

    def _read(self, sender_id: str, all_sessions: bool) -> DialogueStateTracker | None:
        if all_sessions:
            with self.session_scope() as session:
                rows = session.execute(self._data_all, {"sender_id": sender_id}).scalars().all()
            return self._decode(sender_id, rows) if self.domain and rows else None
        with self.session_scope() as session:
            kept = self._kept.get(sender_id)
            if kept is not None:
                version = tuple(session.execute(self._version_latest, {"sender_id": sender_id}).one())
                if version == kept[0]:
                    self._kept.move_to_end(sender_id)
                    if not self.domain:
                        return None
                    return DialogueStateTracker.from_events(sender_id, kept[1], self.domain.slots)
            # One statement, so the rows and the version kept with them agree.
            rows = session.execute(self._data_latest, {"sender_id": sender_id}).all()
        if not self.domain or not rows:
            self._kept.pop(sender_id, None)
            return None
        tracker = self._decode(sender_id, [row.data for row in rows])
        self._remember(sender_id, (len(rows), rows[-1].id), list(tracker.events))
        return tracker

    def _decode(self, sender_id: str, rows: list[str]) -> DialogueStateTracker:
        return DialogueStateTracker.from_dict(sender_id, [json.loads(row) for row in rows], self.domain.slots)

    def _remember(self, sender_id: str, version: tuple[int, int | None], events: list[Event]) -> None:
        if not self._keep:
            return
        self._kept[sender_id] = (version, events)
        self._kept.move_to_end(sender_id)
        while len(self._kept) > self._keep:
            self._kept.popitem(last=False)

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
        sender_id = tracker.sender_id
        self._kept.pop(sender_id, None)  # whatever happens below, the kept events are stale
        with self.session_scope() as session:
            stored, _ = session.execute(self._version_latest, {"sender_id": sender_id}).one()
            events = list(tracker.events)
            rows = []
            for event in events[stored:]:
                data = event.as_dict()
                rows.append(
                    {
                        "sender_id": sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            if rows:
                session.execute(self._insert, rows)
            version = None
            if self._keep:  # what a read will compare against; includes this turn's rows
                version = tuple(session.execute(self._version_latest, {"sender_id": sender_id}).one())
            session.commit()
        if version is not None:
            self._remember_latest_session(sender_id, version, events)

    def _remember_latest_session(
        self, sender_id: str, version: tuple[int, int | None], events: list[Event]
    ) -> None:
        """Keep what a read of the latest session would return: the events from the newest
        session start's time stamp on (the database's rule), if their number agrees."""
        starts = [event.timestamp for event in events if isinstance(event, SessionStarted)]
        if starts:
            since = max(starts)
            events = [event for event in events if event.timestamp >= since]
        if len(events) == version[0]:
            self._remember(sender_id, version, events)


class RedisTrackerStore(rasa_stores.RedisTrackerStore):
    """Rasa's `type: redis` tracker store, unchanged, made known to `/health/ready`: Rasa
    wraps the store it builds in wrappers that hide its errors, so readiness pings this."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        register_tracker_store(self)
