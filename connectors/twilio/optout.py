"""Numbers that texted STOP: never messaged again until they text START.

Kept in a small SQLite file so an opt-out survives restarts (a carrier requirement on SMS,
and WhatsApp's policy: a customer who blocks or reports the business costs its quality rating).
"""

from __future__ import annotations

import time

from connectors.twilio.store import AddressTable


class OptOutStore:
    def __init__(self, path: str) -> None:
        self._table = AddressTable(path, "opted_out", key="number")

    def opt_out(self, number: str) -> None:
        self._table.put(number, time.time())

    def opt_in(self, number: str) -> None:
        self._table.delete(number)

    def is_opted_out(self, number: str) -> bool:
        return self._table.get(number) is not None
