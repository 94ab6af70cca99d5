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
import time
from base64 import urlsafe_b64encode

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from connectors.common.sqlite_store import SqliteStore

logger = logging.getLogger(__name__)


def fernet_for(secret: str) -> Fernet:
    """Any secret string (an auth token, a passphrase) as a Fernet key."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"nimbus twilio number map").derive(
        secret.encode("utf-8")
    )
    return Fernet(urlsafe_b64encode(derived))


class NumberMap(SqliteStore):
    SCHEMA = """
        CREATE TABLE IF NOT EXISTS numbers (conversation TEXT PRIMARY KEY, sealed BLOB NOT NULL,
            updated REAL NOT NULL);
    """

    def __init__(self, path: str, secret: str) -> None:
        if not secret:
            raise ValueError("the number map needs a key")
        super().__init__(path)
        self._fernet = fernet_for(secret)

    def remember(self, conversation: str, number: str) -> None:
        sealed = self._fernet.encrypt(number.encode("utf-8"))
        with self._use() as db:
            db.execute(
                "INSERT INTO numbers VALUES (?, ?, ?) ON CONFLICT(conversation) DO UPDATE SET "
                "sealed = excluded.sealed, updated = excluded.updated",
                (conversation, sealed, time.time()),
            )

    def number(self, conversation: str) -> str | None:
        with self._use() as db:
            row = db.execute("SELECT sealed FROM numbers WHERE conversation = ?", (conversation,)).fetchone()
        if row is None:
            return None
        try:
            return self._fernet.decrypt(bytes(row[0])).decode("utf-8")
        except InvalidToken:
            logger.warning("number map: conversation %s was sealed with another key", conversation)
            return None

    def forget(self, conversation: str) -> None:
        with self._use() as db:
            db.execute("DELETE FROM numbers WHERE conversation = ?", (conversation,))
