"""A local stand-in for Twilio's Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json),
for SMS and for WhatsApp (`whatsapp:+1...` addresses).

WhatsApp as Twilio enforces it: both addresses on the same channel (error 21910), and a
free-form message only within 24 hours of the customer's last message. Twilio accepts
such a message and it fails afterwards (error 63016); the stand-in keeps it in
`undelivered`. It learns of the customer's messages through `inbound()`, as Twilio does
when it relays them to the webhook.
"""

from __future__ import annotations

import base64
import itertools
import re
import time
from typing import Any

from tests.standins.http_standin import Recorded, StandIn

WHATSAPP = "whatsapp:"
SERVICE_WINDOW_SECONDS = 24 * 3600
_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json$")


class TwilioStandIn(StandIn):
    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._ids = itertools.count(1)
        self.last_inbound: dict[str, float] = {}  # WhatsApp address -> when it last wrote
        self.undelivered: list[dict[str, Any]] = []  # accepted, then failed (63016)

    def inbound(self, address: str, at: float | None = None) -> None:
        """The customer at `address` wrote to us (Twilio relays it to the webhook)."""
        if address.startswith(WHATSAPP):
            self.last_inbound[address] = time.time() if at is None else at

    def route(self, path: str) -> str | None:
        return "Messages" if _MESSAGES.match(path) else None

    def answer(self, record: Recorded) -> tuple[int, dict[str, Any]]:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if record.headers.get("authorization") != expected or self.account_sid not in record.path:
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        params = record.params
        body = params.get("Body", "")
        if not params.get("To") or not params.get("From"):
            return 400, {"code": 21604, "message": "A 'To' phone number is required.", "status": 400}
        if params["To"].startswith(WHATSAPP) != params["From"].startswith(WHATSAPP):
            return 400, {
                "code": 21910,
                "message": "Invalid From and To pair. From and To should be of the same channel",
                "status": 400,
            }
        if len(body) > 1600:
            return 400, {
                "code": 21617,
                "message": "The concatenated message body exceeds the 1600 character limit.",
                "status": 400,
            }
        sid = f"SM{next(self._ids):032x}"
        wrote = self.last_inbound.get(params["To"])
        if params["To"].startswith(WHATSAPP) and (
            wrote is None or time.time() - wrote > SERVICE_WINDOW_SECONDS
        ):
            self.undelivered.append({"sid": sid, "to": params["To"], "error_code": 63016})
        return 201, {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": params["To"],
            "from": params["From"],
            "body": body,
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
