"""The Slack side of the channel on slack-bolt's AsyncApp: one workspace, or any that installs it.

Single-workspace mode (the default) authorises every request with the bot token from the
environment. Distributed mode (`client_id` set) adds bolt's OAuth flow: an install page with
an "Add to Slack" link, the redirect that exchanges the code for the workspace's own bot
token (rotated before it expires when the app has token rotation on), and an installation
store; `app_uninstalled` / `tokens_revoked` forget the workspace, and its later events are
acknowledged and dropped by bolt's authorisation (no turn, no API call).

Our routes verify the signature first (slack_sdk's verifier with its injectable clock and
precise 401 reasons, plus the security checks on headers and size), so bolt's own
verification is off; bolt then does url_verification, authorisation and listener dispatch.
Listeners run before the response (`process_before_response`): they only dedupe and start
the background turn, so the acknowledgement stays immediate and a malformed event still
gets its 400.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from connectors.common.webhook import Rejected
from connectors.slack.installations import InstallationStore, StateStore

logger = logging.getLogger(__name__)

# What the bot needs: read the messages it answers, reply, react, and post in the team channel.
SCOPES = (
    "app_mentions:read",
    "channels:history",
    "chat:write",
    "groups:history",
    "im:history",
    "im:write",
    "mpim:history",
    "reactions:write",
    "users:read",
)
REJECTED = "nimbus_rejected"
# Rotate a token that expires within this many minutes (bolt's default is 120).
ROTATE_BEFORE_MINUTES = 120


@dataclass(frozen=True)
class OAuthConfig:
    """Distributed mode's settings (credentials.yml `client_id`, `client_secret`, ...)."""

    client_id: str
    client_secret: str
    database_url: str = ""  # default: SQLite beside $TRACKER_DB
    redirect_uri: str = ""  # default: what Slack has on file for the app
    oauth_base_url: str = "https://slack.com"  # where Slack's authorize page lives
    install_path: str = "/webhooks/slack/install"
    redirect_path: str = "/webhooks/slack/oauth_redirect"
    scopes: tuple[str, ...] = SCOPES


EnvelopeHandler = Callable[[dict[str, Any], AsyncWebClient], Awaitable[Any]]


def build_app(
    *,
    client: AsyncWebClient,
    signing_secret: str,
    on_event: EnvelopeHandler,
    on_interaction: EnvelopeHandler,
    bot_token: str = "",
    oauth: OAuthConfig | None = None,
    installations: InstallationStore | None = None,
) -> AsyncApp:
    """An AsyncApp whose listeners hand each envelope to the channel with the right client.

    `client` carries the API base URL and the connection pool; bolt copies it per request
    with the token of the workspace the request came from.
    """
    common: dict[str, Any] = {
        "client": client,
        "signing_secret": signing_secret,
        "request_verification_enabled": False,  # verified before bolt sees the request
        "process_before_response": True,
        "ignoring_self_events_enabled": False,  # our parser drops bot messages itself
        "logger": logger,
    }
    if oauth is None:
        app = AsyncApp(token=bot_token, **common)
    else:
        assert installations is not None, "distributed mode needs its installation store"
        app = AsyncApp(
            oauth_settings=AsyncOAuthSettings(
                client_id=oauth.client_id,
                client_secret=oauth.client_secret,
                scopes=list(oauth.scopes),
                redirect_uri=oauth.redirect_uri or None,
                install_path=oauth.install_path,
                redirect_uri_path=oauth.redirect_path,
                authorization_url=oauth.oauth_base_url.rstrip("/") + "/oauth/v2/authorize",
                installation_store=installations,
                installation_store_bot_only=True,
                state_store=StateStore(installations.engine),
                token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES,
                logger=logger,
            ),
            installation_store=installations,
            **common,
        )
        # Registered first: bolt runs the first matching listener only.
        app.enable_token_revocation_listeners()

    async def rejected(error: Exception, request: Any) -> BoltResponse:
        if isinstance(error, (AttributeError, TypeError, ValueError, KeyError, IndexError)):
            # bolt's listener matchers index fields assuming Slack's types (a signed but
            # malformed body): a 400 for the sender, not a server fault.
            error = Rejected(400, "malformed event or payload")
        if isinstance(error, Rejected):
            request.context[REJECTED] = error  # re-raised by the route: a logged 4xx
            return BoltResponse(status=error.status, body=error.reason)
        logger.error("slack: listener failed: %s", type(error).__name__, exc_info=error)
        return BoltResponse(status=500, body="")

    app.error(rejected)

    @app.event(re.compile(".*"))
    async def every_event(body: dict[str, Any], context: AsyncBoltContext) -> None:
        await on_event(body, context.client)

    @app.action(re.compile(".*"))
    async def every_action(ack: Any, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        await on_interaction(body, context.client)

    return app


class TeamClients:
    """Tokens for posts no request started: the handoff desk, an agent's reply to a customer.

    In distributed mode the token comes from the installation store, rotated when due,
    exactly as bolt authorises a request; in single-workspace mode it is the bot token.
    """

    def __init__(
        self, client: AsyncWebClient, oauth: OAuthConfig | None, store: InstallationStore | None
    ) -> None:
        self.client = client
        self._authorize = (
            AsyncInstallationStoreAuthorize(
                logger=logger,
                installation_store=store,
                client_id=oauth.client_id,
                client_secret=oauth.client_secret,
                token_rotation_expiration_minutes=ROTATE_BEFORE_MINUTES,
                bot_only=True,
                client=client,
            )
            if oauth is not None and store is not None
            else None
        )

    async def token_for(self, team_id: str) -> str | None:
        if self._authorize is None:
            return self.client.token
        context = AsyncBoltContext()
        context["client"] = self.client
        result = await self._authorize(context=context, enterprise_id=None, team_id=team_id, user_id=None)
        return result.bot_token if result is not None else None


class WorkspaceClient(AsyncWebClient):
    """A Web API client for one installed workspace, its token looked up before each call.

    The desk and the reach-back outputs take a client factory that must answer at once;
    this client defers the (async, possibly rotating) token lookup to the call itself.
    """

    def __init__(self, team_id: str, teams: TeamClients) -> None:
        base = teams.client
        super().__init__(
            token=None,
            base_url=base.base_url,
            timeout=base.timeout,
            session=base.session,
            logger=base.logger,
            retry_handlers=[],
        )
        self.team_id = team_id
        self._teams = teams

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:  # type: ignore[override]
        token = await self._teams.token_for(self.team_id)
        if not token:
            refused = AsyncSlackResponse(
                client=self,
                http_verb="POST",
                api_url=api_method,
                req_args={},
                data={"ok": False, "error": "not_installed"},
                headers={},
                status_code=200,
            )
            raise SlackApiError(f"the app is not installed in workspace {self.team_id}", refused)
        self.token = token
        return await super().api_call(api_method, **kwargs)
