"""Our SQL tracker store on a real PostgreSQL, configured the way a deployment does it.

The store is built by Rasa's own factory from an endpoints file (`dialect: postgresql`,
host, port, user and password from the environment, `login_db` so the store creates its
database), twice, as two Rasa replicas would. The console then reads the same database
through `TRACKER_URL` in its own environment (the action server's), as `python -m
actions.console` does.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess

import pytest
from rasa.core.tracker_store import TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.tracker_store import SQLTrackerStore
from scripts.stack import ACTIONS_BIN, ROOT

DOMAIN = Domain.from_yaml(
    """
version: '3.1'
intents: [ask_knowledge]
entities: [product]
slots:
  product:
    type: text
    mappings: [{type: custom}]
"""
)

ENDPOINTS = """
tracker_store:
  type: rasa_ext.tracker_store.SQLTrackerStore
  dialect: postgresql
  url: ${PGHOST}
  port: ${PGPORT}
  db: ${TRACKER_DATABASE}
  username: ${PGUSER}
  password: ${PGPASSWORD}
  login_db: postgres
"""

SENDER = "slack:T1:C1"
QUESTION = "Où est ma commande pour le X200 ? ☕"


def one_conversation() -> list:
    """What Rasa stores for a first turn: session start, the message, a slot, the answer."""
    return [
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered(
            QUESTION,
            intent={"name": "ask_knowledge", "confidence": 0.93},
            entities=[{"entity": "product", "value": "X200", "start": 26, "end": 30}],
            input_channel="slack",
            metadata={"language": "fr"},
        ),
        SlotSet("product", "X200"),
        ActionExecuted("action_answer_from_knowledge"),
        BotUttered(
            "Votre commande part sous 2 jours [1]",
            data={"buttons": [{"title": "Suivi", "payload": "/track"}]},
            metadata={"sources": [{"n": 1, "url": "https://help.example.com/shipping"}]},
        ),
        ActionExecuted("action_listen"),
    ]


@pytest.fixture
def replicas(postgres, tmp_path, monkeypatch) -> tuple[TrackerStore, TrackerStore, str]:
    """Two stores built by Rasa from the same endpoints file; the store creates the database."""
    database = f"tracker_{secrets.token_hex(4)}"
    for name, value in {
        "PGHOST": postgres.host,
        "PGPORT": str(postgres.port),
        "PGUSER": postgres.user,
        "PGPASSWORD": postgres.password,
        "TRACKER_DATABASE": database,
    }.items():
        monkeypatch.setenv(name, value)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(ENDPOINTS, encoding="utf-8")
    config = AvailableEndpoints.read_endpoints(str(endpoints)).tracker_store
    stores = (TrackerStore.create(config, DOMAIN), TrackerStore.create(config, DOMAIN))
    for store in stores:
        # Rasa falls back to an in-memory store when a custom class fails to load.
        assert isinstance(store, SQLTrackerStore), type(store)
        assert store.engine.dialect.name == "postgresql"
    yield stores[0], stores[1], postgres.url(database)
    for store in stores:
        store._worker.shutdown()
        store.engine.dispose()


def as_dicts(tracker: DialogueStateTracker) -> list[dict]:
    return [event.as_dict() for event in tracker.events]


def latest_session(tracker: DialogueStateTracker) -> list[dict]:
    """What a read returns, in Rasa's rule: the events from the last session start on
    (`action_session_start` itself comes just before it and belongs to no session)."""
    events = as_dicts(tracker)
    start = max(i for i, e in enumerate(events) if e["event"] == "session_started")
    return events[start:]


async def _save(store: TrackerStore, events: list) -> DialogueStateTracker:
    tracker = DialogueStateTracker.from_events(SENDER, events, DOMAIN.slots)
    await store.save(tracker)
    return tracker


def test_a_conversation_one_replica_stores_is_read_intact_by_another(replicas):
    first, second, _ = replicas

    async def scenario() -> tuple:
        written = await _save(first, one_conversation())
        read = await second.retrieve(SENDER)
        # The second replica answers the next turn; the first, which still keeps the
        # conversation's events from its own write, must see that turn.
        for event in [
            UserUttered("et le X300 ?", intent={"name": "ask_knowledge", "confidence": 0.9}),
            SlotSet("product", "X300"),
            BotUttered("Le X300 part sous 5 jours [1]"),
            ActionExecuted("action_listen"),
        ]:
            read.update(event)
        await second.save(read)
        return written, await first.retrieve(SENDER), list(await second.keys())

    written, after, keys = asyncio.run(scenario())
    assert keys == [SENDER]
    expected = latest_session(written)
    assert as_dicts(after)[: len(expected)] == expected
    assert after.get_slot("product") == "X300"
    texts = [e.text for e in after.events if isinstance(e, (UserUttered, BotUttered))]
    assert texts == [
        QUESTION,
        "Votre commande part sous 2 jours [1]",
        "et le X300 ?",
        "Le X300 part sous 5 jours [1]",
    ]
    first_answer = [e for e in after.events if isinstance(e, BotUttered)][0]
    assert first_answer.data["buttons"] == [{"title": "Suivi", "payload": "/track"}]
    assert after.events[2].parse_data["entities"][0]["value"] == "X200"


def test_rasa_s_own_sql_store_reads_the_rows_ours_wrote_on_postgresql(replicas):
    first, _, _ = replicas

    written = asyncio.run(_save(first, one_conversation()))
    from rasa.core.tracker_store import SQLTrackerStore as RasaSQLTrackerStore

    rasa = RasaSQLTrackerStore(
        domain=DOMAIN,
        dialect="postgresql",
        host=os.environ["PGHOST"],
        port=os.environ["PGPORT"],
        db=os.environ["TRACKER_DATABASE"],
        username=os.environ["PGUSER"],
        password=os.environ["PGPASSWORD"],
    )
    try:
        assert as_dicts(asyncio.run(rasa.retrieve(SENDER))) == latest_session(written)
    finally:
        rasa.engine.dispose()


CONSOLE = """
import dataclasses, json
from actions.console.conversations import source_from_env
source = source_from_env()
print(json.dumps({"where": source.describe(),
                  "conversations": [dataclasses.asdict(c) for c in source.recent(50)]}))
"""


def test_the_console_lists_what_the_tracker_store_wrote_to_postgresql(replicas):
    first, _, url = replicas

    asyncio.run(_save(first, one_conversation()))
    result = subprocess.run(
        [str(ACTIONS_BIN / "python"), "-c", CONSOLE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "TRACKER_URL": url, "HOME": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    shown = json.loads(result.stdout)
    assert shown["where"].startswith("SQL tracker store (postgresql://")
    assert os.environ["PGPASSWORD"] not in result.stdout  # the page never shows the password
    [conversation] = shown["conversations"]
    assert conversation["conversation_id"] == SENDER
    assert conversation["channel"] == "slack"
    assert [(t["from"], t["text"]) for t in conversation["turns"]] == [
        ("customer", QUESTION),
        ("bot", "Votre commande part sous 2 jours [1]"),
    ]
