"""Slack for an app that several workspaces install: OAuth v2 token exchange and rotation.

Speaks `oauth.v2.access` as Slack does (client credentials as HTTP Basic auth; a code
grant answers with the workspace's bot token, and with token rotation on, a refresh
token and `expires_in`; a refresh grant answers with a new pair and retires the old
token). Every Web API call is answered for the workspace its token belongs to.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

from tests.standins.http_standin import Recorded
from tests.standins.slack_api import SlackStandIn

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "e2e-client-secret"


class SlackWorkspacesStandIn(SlackStandIn):
    def __init__(self, expires_in: dict[str, int] | None = None) -> None:
        super().__init__(token="xoxb-unused")
        self._n = itertools.count(1)
        self.tokens: dict[str, str] = {}  # live bot token -> team id
        self.refresh: dict[str, str] = {}  # live refresh token -> team id
        self.retired: set[str] = set()
        self.expires_in = dict(expires_in or {})  # team -> seconds (default 12 h)

    @staticmethod
    def code_for(team: str) -> str:
        """The code Slack's authorize page would hand back after `team` approved the app."""
        return f"code-{team}"

    def team_of(self, token: str) -> str | None:
        return self.tokens.get(token)

    def _issue(self, team: str) -> dict[str, Any]:
        n = next(self._n)
        token, refresh = f"xoxe.xoxb-{team}-{n}", f"xoxe-1-{team}-{n}"
        self.tokens[token], self.refresh[refresh] = team, team
        return {
            "access_token": token,
            "refresh_token": refresh,
            "expires_in": self.expires_in.get(team, 43200),
        }

    def _client_ok(self, record: Recorded) -> bool:
        basic = record.headers.get("authorization") or ""
        if basic.startswith("Basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        else:
            client_id, secret = record.params.get("client_id"), record.params.get("client_secret")
        return client_id == CLIENT_ID and secret == CLIENT_SECRET

    def answer(self, record: Recorded) -> tuple[int, dict[str, Any]]:
        if record.method != "oauth.v2.access":
            return super().answer(record)
        if not self._client_ok(record):
            return 200, {"ok": False, "error": "invalid_client"}
        params = record.params
        if params.get("grant_type") == "refresh_token":
            team = self.refresh.pop(str(params.get("refresh_token")), None)
            if team is None:
                return 200, {"ok": False, "error": "invalid_refresh_token"}
            for token, owner in list(self.tokens.items()):
                if owner == team:
                    del self.tokens[token]
                    self.retired.add(token)
            return 200, {"ok": True, "token_type": "bot", **self._issue(team)}
        code = str(params.get("code") or "")
        if not code.startswith("code-"):
            return 200, {"ok": False, "error": "invalid_code"}
        team = code[len("code-") :]
        return 200, {
            "ok": True,
            "app_id": "A0NIMBUS",
            "token_type": "bot",
            "scope": "app_mentions:read,chat:write,reactions:write",
            "bot_user_id": f"UBOT{team}",
            "team": {"id": team, "name": f"Workspace {team}"},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": "UINSTALLER"},
            **self._issue(team),
        }

    def tokens_used(self, method: str, channel: str) -> list[str]:
        return [self.token_of(r) for r in self.calls(method, lambda r: r.params.get("channel") == channel)]
