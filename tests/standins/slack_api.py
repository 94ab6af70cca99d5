"""A local stand-in for the Slack Web API (https://slack.com/api/<method>)."""

from __future__ import annotations

import itertools
from typing import Any

from tests.standins.http_standin import Recorded, StandIn

BOT_USER_ID = "UBOTNIMBUS"
BOT_ID = "BNIMBUS"
TEAM_ID = "TNIMBUS"


class SlackStandIn(StandIn):
    def __init__(self, token: str = "xoxb-test-token") -> None:
        super().__init__()
        self.token = token
        self._ts = itertools.count(1)
        # users.info answers: user id -> profile (display_name, real_name); others are unknown.
        self.users: dict[str, dict[str, str]] = {}

    @property
    def base_url(self) -> str:
        return self.url + "/api/"

    def route(self, path: str) -> str | None:
        return path[len("/api/") :] if path.startswith("/api/") else None

    @staticmethod
    def token_of(record: Recorded) -> str:
        bearer = record.headers.get("authorization") or ""
        return (
            bearer.removeprefix("Bearer ")
            if bearer.startswith("Bearer ")
            else str(record.params.get("token") or "")
        )

    def team_of(self, token: str) -> str | None:
        """The workspace a token belongs to, or None when Slack would say invalid_auth."""
        return TEAM_ID if token == self.token else None

    def answer(self, record: Recorded) -> tuple[int, dict[str, Any]]:
        team = self.team_of(self.token_of(record))
        if team is None:
            return 200, {"ok": False, "error": "invalid_auth"}
        method, params = record.method, record.params
        if method == "auth.test":
            return 200, {
                "ok": True,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "team_id": team,
                "user": "nimbus",
            }
        if method == "chat.postMessage":
            if not params.get("channel"):
                return 200, {"ok": False, "error": "channel_not_found"}
            if not params.get("text") and not params.get("blocks"):
                return 200, {"ok": False, "error": "no_text"}
            ts = f"1700000000.{next(self._ts):06d}"
            return 200, {
                "ok": True,
                "channel": params["channel"],
                "ts": ts,
                "message": {"text": params.get("text"), "bot_id": BOT_ID, "ts": ts},
            }
        if method == "users.info":
            profile = self.users.get(str(params.get("user")))
            if profile is None:
                return 200, {"ok": False, "error": "user_not_found"}
            return 200, {
                "ok": True,
                "user": {"id": params["user"], "name": profile.get("name", ""), "profile": profile},
            }
        if method in ("reactions.add", "reactions.remove"):
            if not params.get("channel") or not params.get("timestamp") or not params.get("name"):
                return 200, {"ok": False, "error": "invalid_arguments"}
            return 200, {"ok": True}
        return 200, {"ok": False, "error": "unknown_method"}

    def posts(self, channel: str | None = None) -> list[Recorded]:
        return self.calls("chat.postMessage", lambda r: channel is None or r.params.get("channel") == channel)
