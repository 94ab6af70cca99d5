"""Rasa's SQLite tracker store runs in WAL mode once the tuning is installed, and keeps turns."""

from __future__ import annotations

import asyncio
import sqlite3

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext import sqlite_tuning


def test_tracker_store_uses_wal_and_keeps_the_conversation(tmp_path):
    sqlite_tuning.install()
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "tracker.db"))
    tracker = DialogueStateTracker("customer-1", [])
    tracker.update(UserUttered("how long does shipping take?"))
    asyncio.run(store.save(tracker))

    again = asyncio.run(store.retrieve("customer-1"))
    assert [e.text for e in again.events if isinstance(e, UserUttered)] == ["how long does shipping take?"]
    with sqlite3.connect(tmp_path / "tracker.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
