"""The phone number behind a Twilio conversation id, kept only to text the customer back.

Conversation ids are keyed hashes (identity.py): nobody can turn one back into a number.
An agent's reply or a hand-back comes later, outside the customer's own message, so the
SMS channel keeps the number of a handed-over conversation here: one SQLite row per
conversation, the number sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key
derived from a secret in the environment. A copied file without the key reveals nothing,
and the number is never logged. Changing the key makes the stored numbers unreadable
(logged as such): customers in an open handoff then get the agent's reply only after
they write again.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from base64 import urlsafe_b64encode
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

logger = logging.getLogger(__name__)


def fernet_for(secret: str) -> Fernet:
    """Any secret string (an auth token, a passphrase) as a Fernet key."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"nimbus twilio number map").derive(
        secret.encode("utf-8")
    )
    return Fernet(urlsafe_b64encode(derived))


class NumberMap:
    def __init__(self, path: str, secret: str) -> None:
        if not secret:
            raise ValueError("the number map needs a key")
        self.path = path
        self._fernet = fernet_for(secret)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        # Opened on first use: a channel built only to check its settings creates no file.
        if self._db is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS numbers (conversation TEXT PRIMARY KEY, sealed BLOB NOT NULL,"
                " updated REAL NOT NULL)"
            )
        return self._db

    def remember(self, conversation: str, number: str) -> None:
        sealed = self._fernet.encrypt(number.encode("utf-8"))
        with self._lock:
            self._open().execute(
                "INSERT INTO numbers VALUES (?, ?, ?) ON CONFLICT(conversation) DO UPDATE SET "
                "sealed = excluded.sealed, updated = excluded.updated",
                (conversation, sealed, time.time()),
            )

    def number(self, conversation: str) -> str | None:
        with self._lock:
            row = (
                self._open()
                .execute("SELECT sealed FROM numbers WHERE conversation = ?", (conversation,))
                .fetchone()
            )
        if row is None:
            return None
        try:
            return self._fernet.decrypt(bytes(row[0])).decode("utf-8")
        except InvalidToken:
            logger.warning("number map: conversation %s was sealed with another key", conversation)
            return None

    def forget(self, conversation: str) -> None:
        with self._lock:
            self._open().execute("DELETE FROM numbers WHERE conversation = ?", (conversation,))
