"""WhatsApp's 24-hour customer-service window: when the customer last wrote to us.

Outside the window WhatsApp accepts only pre-approved templates, never a free-form reply,
so the connector must know, also after a restart, when each customer last wrote. A small
SQLite file, keyed by the customer's address (kept on the reply path only, never logged).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from connectors.twilio.store import AddressTable

WINDOW_SECONDS = 24 * 3600.0


class ServiceWindow:
    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._table = AddressTable(path, "last_inbound")

    def customer_wrote(self, address: str) -> None:
        self._table.put(address, self._clock())

    def is_open(self, address: str) -> bool:
        """True while a free-form reply is allowed (within 24 h of the customer's last message)."""
        at = self._table.get(address)
        return at is not None and self._clock() - at < WINDOW_SECONDS
