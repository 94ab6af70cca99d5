"""Where a distributed Slack app keeps each workspace's installation and its OAuth states.

slack_sdk's SQLAlchemy stores are used as they are (SQLite by default, PostgreSQL by URL
through the psycopg2 driver Rasa already ships), run on a worker thread: bolt's AsyncApp
needs async stores, and slack_sdk's async SQLAlchemy store needs an async driver
(aiosqlite / asyncpg) on SQLAlchemy 2 APIs, while Rasa pins SQLAlchemy 1.4. A store call
is a single-row read or write, so a thread hop costs far less than the Web API call it
precedes.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import sqlalchemy
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

logger = logging.getLogger(__name__)

DEFAULT_FILE = "slack_installations.sqlite"


def default_url() -> str:
    """SQLite beside the tracker database (the same folder the dedupe file uses)."""
    tracker = os.environ.get("TRACKER_DB", "").strip()
    folder = Path(tracker).parent if tracker else Path(".data")
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / DEFAULT_FILE).resolve()}"


def engine_for(url: str) -> sqlalchemy.engine.Engine:
    url = url.strip() or default_url()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]  # the form Heroku-style URLs use
    if url.startswith("sqlite"):
        # The stores are called from worker threads; SQLite must allow that.
        return sqlalchemy.create_engine(url, connect_args={"check_same_thread": False})
    return sqlalchemy.create_engine(url, pool_pre_ping=True)


def _create(engine: sqlalchemy.engine.Engine, metadata: sqlalchemy.MetaData) -> None:
    metadata.create_all(engine, checkfirst=True)


class InstallationStore(AsyncInstallationStore):
    """slack_sdk's SQLAlchemy installation store, off the event loop."""

    def __init__(self, client_id: str, engine: sqlalchemy.engine.Engine) -> None:
        self.engine = engine
        self._store = SQLAlchemyInstallationStore(client_id=client_id, engine=engine, logger=logger)
        _create(engine, self._store.metadata)

    @property
    def logger(self) -> logging.Logger:
        return logger

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self._store.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self._store.save_bot, bot)

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        return await asyncio.to_thread(
            lambda: self._store.find_bot(
                enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
            )
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await asyncio.to_thread(
            lambda: self._store.find_installation(
                enterprise_id=enterprise_id,
                team_id=team_id,
                user_id=user_id,
                is_enterprise_install=is_enterprise_install,
            )
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(lambda: self._store.delete_bot(enterprise_id=enterprise_id, team_id=team_id))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            lambda: self._store.delete_installation(
                enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
            )
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class StateStore(AsyncOAuthStateStore):
    """One-time OAuth `state` values (a forged or replayed state is refused), off the loop."""

    def __init__(self, engine: sqlalchemy.engine.Engine, expiration_seconds: int = 600) -> None:
        self._store = SQLAlchemyOAuthStateStore(
            expiration_seconds=expiration_seconds, engine=engine, logger=logger
        )
        _create(engine, self._store.metadata)

    @property
    def logger(self) -> logging.Logger:
        return logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self._store.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self._store.consume, state)
