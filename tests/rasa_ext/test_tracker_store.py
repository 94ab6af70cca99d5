"""The threaded SQL tracker store keeps Rasa's rows and keeps the event loop free."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore as RasaSQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.tracker_store import SQLTrackerStore
from tests.rasa_ext.loop_stall import longest_stall

DOMAIN = Domain.from_yaml("version: '3.1'\nintents: [ask_knowledge]\n")


def turn(text: str, at: float | None = None) -> list:
    return [
        ActionExecuted("action_listen", timestamp=at),
        UserUttered(text, intent={"name": "ask_knowledge", "confidence": 0.9}, timestamp=at),
        BotUttered(f"answer to {text}", timestamp=at),
    ]


def test_turns_round_trip_and_rasa_s_own_store_reads_the_same_rows(tmp_path):
    db = str(tmp_path / "tracker.db")
    ours = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db)

    async def scenario() -> DialogueStateTracker:
        tracker = DialogueStateTracker.from_events("c1", turn("hi"))
        await ours.save(tracker)
        tracker = await ours.retrieve("c1")
        for event in turn("and shipping?"):
            tracker.update(event)
        await ours.save(tracker)  # only the second turn's events are appended
        return await ours.retrieve("c1")

    stored = asyncio.run(scenario())
    texts = [e.text for e in stored.events if isinstance(e, (UserUttered, BotUttered))]
    assert texts == ["hi", "answer to hi", "and shipping?", "answer to and shipping?"]
    with sa.create_engine(f"sqlite:///{db}").connect() as conn:
        assert conn.execute(sa.text("select count(*) from events")).scalar() == 6
    rasa = RasaSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db)
    again = asyncio.run(rasa.retrieve("c1"))
    assert [e.as_dict() for e in again.events] == [e.as_dict() for e in stored.events]
    assert list(asyncio.run(ours.keys())) == ["c1"]


def test_a_slow_commit_does_not_stop_the_event_loop(tmp_path):
    store = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "slow.db"))
    sa.event.listen(store.engine, "commit", lambda _conn: time.sleep(0.4))  # a slow disk

    async def scenario() -> float:
        _, stall = await longest_stall(
            store.save(DialogueStateTracker.from_events("c2", turn("hello"))), tick=0.01, settle=0.05
        )
        return stall

    # Rasa's own store would hold the loop for the whole 0.4 s commit.
    assert asyncio.run(scenario()) < 0.2
    assert asyncio.run(store.retrieve("c2")) is not None


def test_in_memory_sqlite_still_works():
    store = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db="")

    async def scenario() -> DialogueStateTracker | None:
        await store.save(DialogueStateTracker.from_events("c3", turn("hey")))
        return await store.retrieve("c3")

    assert asyncio.run(scenario()).latest_message.text == "hey"


def test_sessions_are_read_and_appended_as_rasa_does(tmp_path):
    db = str(tmp_path / "sessions.db")
    ours = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db)
    rasa = RasaSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db)
    first = [ActionExecuted("action_session_start", timestamp=1.0), SessionStarted(timestamp=1.0)]
    first += turn("old question", at=2.0)
    later = [ActionExecuted("action_session_start", timestamp=10.0), SessionStarted(timestamp=10.0)]

    async def scenario() -> tuple:
        tracker = DialogueStateTracker.from_events("c5", first)
        await rasa.save(tracker)  # written by Rasa's own store, continued by ours
        tracker = await ours.retrieve("c5")
        for event in later + turn("new question", at=11.0):
            tracker.update(event)
        await ours.save(tracker)
        return (
            await ours.retrieve("c5"),
            await rasa.retrieve("c5"),
            await ours.retrieve_full_tracker("c5"),
            await rasa.retrieve_full_tracker("c5"),
        )

    latest, rasa_latest, full, rasa_full = asyncio.run(scenario())
    assert [e.as_dict() for e in latest.events] == [e.as_dict() for e in rasa_latest.events]
    assert [e.as_dict() for e in full.events] == [e.as_dict() for e in rasa_full.events]
    assert "old question" not in [getattr(e, "text", None) for e in latest.events]
    assert "old question" in [getattr(e, "text", None) for e in full.events]
    with sa.create_engine(f"sqlite:///{db}").connect() as conn:
        assert conn.execute(sa.text("select count(*) from events")).scalar() == len(full.events)
