"""A local stand-in for Twilio's Messages API (POST /2010-04-01/Accounts/{sid}/Messages.json)."""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any

from tests.standins.http_standin import Recorded, StandIn

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})/Messages\.json$")


class TwilioStandIn(StandIn):
    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self._ids = itertools.count(1)

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
        if len(body) > 1600:
            return 400, {
                "code": 21617,
                "message": "The concatenated message body exceeds the 1600 character limit.",
                "status": 400,
            }
        sid = f"SM{next(self._ids):032x}"
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
