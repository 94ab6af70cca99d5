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


def as_dicts(tracker: DialogueStateTracker) -> list[dict]:
    return [event.as_dict() for event in tracker.events]


def test_a_kept_conversation_is_read_without_decoding_and_equals_rasa_s_read(tmp_path, monkeypatch):
    db = str(tmp_path / "kept.db")
    ours = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db)
    rasa = RasaSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db)
    decoded = []
    from_dict = DialogueStateTracker.from_dict

    def counting(cls, sender_id, *args, **kwargs):  # noqa: ANN001, ANN202
        decoded.append(sender_id)
        return from_dict(sender_id, *args, **kwargs)

    monkeypatch.setattr(DialogueStateTracker, "from_dict", classmethod(counting))

    async def scenario() -> list:
        reads = []
        tracker = DialogueStateTracker.from_events("c6", turn("hi"))
        for text in ["where is my order?", "and returns?", "thanks"]:
            await ours.save(tracker)
            tracker = await ours.retrieve("c6")
            reads.append((as_dicts(tracker), as_dicts(await rasa.retrieve("c6"))))
            for event in turn(text):
                tracker.update(event)
        return reads

    reads = asyncio.run(scenario())
    assert all(mine == theirs for mine, theirs in reads)
    users = [e["text"] for e in reads[-1][0] if e["event"] == "user"]
    assert users == ["hi", "where is my order?", "and returns?"]
    # Only Rasa's own store decoded rows: ours rebuilt each turn from the events it wrote.
    assert decoded.count("c6") == len(reads)


def test_a_turn_stored_by_another_replica_is_read_from_the_database(tmp_path):
    db = str(tmp_path / "shared.db")
    replica_a = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db)
    replica_b = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db)

    async def scenario() -> tuple:
        await replica_a.save(DialogueStateTracker.from_events("c7", turn("first")))
        on_b = await replica_b.retrieve("c7")
        for event in turn("second, on the other replica"):
            on_b.update(event)
        await replica_b.save(on_b)
        on_a = await replica_a.retrieve("c7")  # A still keeps the first turn's events
        for event in turn("third, back on A"):
            on_a.update(event)
        await replica_a.save(on_a)
        return await replica_a.retrieve("c7"), await replica_b.retrieve("c7")

    on_a, on_b = asyncio.run(scenario())
    texts = [e.text for e in on_a.events if isinstance(e, UserUttered)]
    assert texts == ["first", "second, on the other replica", "third, back on A"]
    assert as_dicts(on_a) == as_dicts(on_b)


def test_a_new_session_and_a_deleted_conversation_are_not_served_from_memory(tmp_path):
    db = str(tmp_path / "gone.db")
    ours = SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db, cached_conversations=1)
    rasa = RasaSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=db)
    start = [ActionExecuted("action_session_start", timestamp=10.0), SessionStarted(timestamp=10.0)]

    async def scenario() -> tuple:
        tracker = DialogueStateTracker.from_events("c8", turn("old", at=1.0))
        await ours.save(tracker)
        for event in start + turn("new", at=11.0):
            tracker.update(event)
        await ours.save(tracker)
        kept = await ours.retrieve("c8")  # from memory: only the new session's events
        await ours.save(DialogueStateTracker.from_events("other", turn("pushes c8 out")))
        reread = await ours.retrieve("c8")  # one conversation kept: from the database
        expected = await rasa.retrieve("c8")
        with sa.create_engine(f"sqlite:///{db}").begin() as conn:
            conn.execute(sa.text("delete from events where sender_id = 'other'"))
        return kept, reread, expected, await ours.retrieve("other")

    kept, reread, expected, deleted = asyncio.run(scenario())
    assert as_dicts(kept) == as_dicts(reread) == as_dicts(expected)
    assert [e.text for e in kept.events if isinstance(e, UserUttered)] == ["new"]
    assert deleted is None
