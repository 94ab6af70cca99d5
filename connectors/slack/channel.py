"""Slack Events API input channel: verify, dedupe, acknowledge, then answer in the background.

Routes (prefix /webhooks/slack): GET / (health), POST /events (Events API and, if the
app's Interactivity URL points here too, button presses), POST /interactions, and
POST /handoff: the action server's handoff notice for the team channel, answered 200 only
once Slack accepted the post (connectors/common/handoff.py).
"""

from __future__ import annotations

import hmac
import logging
import os
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import Clock
from slack_sdk.web.async_client import AsyncWebClient

from connectors.common import handoff, logmask
from connectors.common.channel import WebhookInput
from connectors.common.credentials import ChannelConfigError, as_bool
from connectors.common.dedupe import DedupeStore, dedupe_from_settings
from connectors.common.webhook import (
    DEFAULT_MAX_BODY,
    Rejected,
    check_headers,
    check_size,
    decode_utf8,
    media_type,
    parse_json,
    parse_json_object,
)
from connectors.slack.app import REJECTED, OAuthConfig, TeamClients, WorkspaceClient, build_app
from connectors.slack.bolt_adapter import to_bolt, to_sanic
from connectors.slack.desk import AgentDesk, ThreadStore, default_desk_db
from connectors.slack.events import GRANULARITIES, Inbound, from_block_actions, from_event
from connectors.slack.installations import InstallationStore, engine_for
from connectors.slack.output import SlackOutput
from connectors.slack.output import SlackOutput as _SlackOutput
from connectors.slack.team import SlackTeamNotifier
from connectors.slack.verify import SlackVerifier
from contract import handoff_events as steps

logger = logging.getLogger(__name__)

DEFAULT_API_BASE_URL = "https://slack.com/api/"
# slack_sdk logs every request body at DEBUG: answers, handoff transcripts and, for SMS
# handoffs, the customer's number. Its own logger is kept at INFO, whatever Rasa's level.
_quiet = logging.getLogger("connectors.slack.web_api")
_quiet.setLevel(logging.INFO)


API_TIMEOUT_SECONDS = 15


def web_client(token: str, base_url: str, session: aiohttp.ClientSession | None = None) -> AsyncWebClient:
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=API_TIMEOUT_SECONDS,
        retry_handlers=[],
        logger=_quiet,
        session=session,
    )


def api_session() -> aiohttp.ClientSession:
    """One connection pool for all Web API calls of this server.

    Without a session slack_sdk opens a new aiohttp session, and with it a new TCP (and
    TLS) connection, for every call and closes it after: three per answered message
    (reaction on, reply, reaction off). Reusing connections halved the client's CPU per
    call against the loopback stand-in (about 2 -> 0.9 ms). slack_sdk applies its own
    timeout only to sessions it creates, so the session carries it.
    """
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=API_TIMEOUT_SECONDS))


REQUIRED = {"signing_secret": "SLACK_SIGNING_SECRET"}
OPTIONAL: dict[str, Any] = {
    "bot_token": "",  # single-workspace mode (the default); required unless client_id is set
    # Distributed mode (any workspace installs the app through OAuth): see docs/slack-app.md.
    "client_id": "",
    "client_secret": "",
    "installation_db": "",  # SQLAlchemy URL; default: SQLite beside $TRACKER_DB
    "oauth_redirect_uri": "",
    "oauth_base_url": "https://slack.com",
    "handoff_team": "",  # the workspace (team id) of handoff_channel, in distributed mode
    "api_base_url": DEFAULT_API_BASE_URL,
    "conversation_granularity": "thread",
    "reaction": "eyes",
    "socket_mode": False,
    "app_token": "",
    "dedupe_ttl": 24 * 3600,
    "dedupe_redis_url": "",
    "dedupe_db": "",  # default: dedupe.sqlite beside $TRACKER_DB; "memory" for none
    "max_body_bytes": DEFAULT_MAX_BODY,
    "send_attempts": 4,
    "handoff_channel": "",  # team channel for handoff notices; default $SLACK_HANDOFF_CHANNEL
    "desk_db": "",  # handoff threads of the team channel; default desk.sqlite beside the dedupe store
}


def _oauth_config(settings: dict[str, Any]) -> OAuthConfig | None:
    client_id = str(settings["client_id"] or "").strip()
    if not client_id:
        return None
    secret = str(settings["client_secret"] or "").strip()
    if not secret:
        raise ChannelConfigError(
            "slack channel: 'client_secret' is missing or empty in credentials.yml "
            "(set the environment variable SLACK_CLIENT_SECRET, needed with client_id)"
        )
    return OAuthConfig(
        client_id=client_id,
        client_secret=secret,
        database_url=str(settings["installation_db"] or ""),
        redirect_uri=str(settings["oauth_redirect_uri"] or ""),
        oauth_base_url=str(settings["oauth_base_url"] or "https://slack.com"),
    )


# What bolt's context extraction and listener matchers raise on fields of the wrong type.
MALFORMED = (AttributeError, TypeError, ValueError, KeyError, IndexError)


class SlackInput(WebhookInput):
    channel_name = "slack"
    REQUIRED = REQUIRED
    OPTIONAL = OPTIONAL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SlackInput:
        settings = cls.settings(credentials)
        if settings["conversation_granularity"] not in GRANULARITIES:
            raise ChannelConfigError(
                f"slack channel: 'conversation_granularity' must be one of {', '.join(GRANULARITIES)}"
            )
        socket_mode = as_bool(settings["socket_mode"])
        oauth = _oauth_config(settings)
        if oauth is None and not str(settings["bot_token"]).strip():
            raise ChannelConfigError(
                "slack channel: 'bot_token' is missing or empty in credentials.yml "
                "(set the environment variable SLACK_BOT_TOKEN, or SLACK_CLIENT_ID and "
                "SLACK_CLIENT_SECRET for an app any workspace can install)"
            )
        if oauth is not None and socket_mode:
            raise ChannelConfigError("slack channel: socket_mode serves one workspace; unset client_id")
        if socket_mode and not str(settings["app_token"]).strip():
            raise ChannelConfigError(
                "slack channel: 'app_token' is missing or empty in credentials.yml "
                "(set the environment variable SLACK_APP_TOKEN, needed for socket_mode)"
            )
        return cls(
            bot_token=settings["bot_token"],
            signing_secret=settings["signing_secret"],
            api_base_url=str(settings["api_base_url"]),
            granularity=settings["conversation_granularity"],
            reaction=str(settings["reaction"] or ""),
            dedupe=dedupe_from_settings(settings, "slack"),
            socket_mode=socket_mode,
            app_token=str(settings["app_token"] or ""),
            max_body_bytes=int(settings["max_body_bytes"]),
            send_attempts=int(settings["send_attempts"]),
            handoff_channel=str(settings["handoff_channel"] or os.environ.get("SLACK_HANDOFF_CHANNEL", "")),
            oauth=oauth,
            handoff_team=str(settings["handoff_team"] or os.environ.get("SLACK_HANDOFF_TEAM", "")),
            desk_db=str(settings["desk_db"] or ""),
        )

    def __init__(
        self,
        bot_token: str,
        signing_secret: str,
        api_base_url: str = DEFAULT_API_BASE_URL,
        granularity: str = "thread",
        reaction: str = "eyes",
        dedupe: DedupeStore | None = None,
        socket_mode: bool = False,
        app_token: str = "",
        max_body_bytes: int = DEFAULT_MAX_BODY,
        send_attempts: int = 4,
        clock: Clock | None = None,
        handoff_channel: str = "",
        oauth: OAuthConfig | None = None,
        handoff_team: str = "",
        desk_db: str = "",
    ) -> None:
        logmask.install([bot_token, signing_secret, app_token] + ([oauth.client_secret] if oauth else []))
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self.oauth = oauth
        self.handoff_team = handoff_team.strip()
        self._bolt: AsyncApp | None = None
        self._teams: TeamClients | None = None
        self._workspaces: dict[str, WorkspaceClient] = {}
        self.installations = (
            InstallationStore(oauth.client_id, engine_for(oauth.database_url)) if oauth else None
        )
        self.api_base_url = api_base_url if api_base_url.endswith("/") else api_base_url + "/"
        self.granularity = granularity
        self.reaction = reaction
        super().__init__(dedupe, max_body_bytes)
        self.socket_mode = socket_mode
        self.app_token = app_token
        self.send_attempts = send_attempts
        self.verifier = SlackVerifier(signing_secret, clock)
        self._client: AsyncWebClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._bot_user_id: str | None = None
        self._socket_client: Any = None
        self.handoff_channel = handoff_channel.strip()
        self.desk: AgentDesk | None = None
        if self.handoff_channel:
            # Handoffs from every channel (Telegram, SMS too) are announced through this client,
            # each in its own thread of the team channel, where agents answer (desk.py).
            threads = ThreadStore(desk_db or default_desk_db())
            if oauth is not None and not self.handoff_team:
                raise ChannelConfigError(
                    "slack channel: with several workspaces the handoff channel needs its workspace: "
                    "set SLACK_HANDOFF_TEAM (the team id, T0...) or 'handoff_team' in credentials.yml"
                )
            team = SlackTeamNotifier(self.team_client, self.handoff_channel, send_attempts, threads)
            handoff.register(team)
            self.desk = AgentDesk(self.team_client, self.handoff_channel, threads, team.post)

    @property
    def client(self) -> AsyncWebClient:
        # Created lazily so its aiohttp session belongs to the server's event loop.
        if self._client is None:
            self._session = api_session()
            self._client = web_client(self.bot_token, self.api_base_url, self._session)
        return self._client

    def client_for_team(self, team_id: str) -> AsyncWebClient:
        """The client for posts no Slack request started, in the workspace they belong to."""
        if self.oauth is None:
            return self.client
        if self._teams is None:
            self._teams = TeamClients(self.client, self.oauth, self.installations)
        if team_id not in self._workspaces:
            self._workspaces[team_id] = WorkspaceClient(team_id, self._teams)
        return self._workspaces[team_id]

    def team_client(self) -> AsyncWebClient:
        """The handoff channel's workspace (named by `handoff_team` in distributed mode)."""
        return self.client_for_team(self.handoff_team)

    def output_for(self, inbound: Inbound, client: AsyncWebClient | None = None) -> SlackOutput:
        """`client` carries the token of the workspace the message came from (bolt's context)."""
        return SlackOutput(
            client or self.client, inbound.channel, inbound.thread_ts, inbound.sender_id, self.send_attempts
        )

    def bolt(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> AsyncApp:
        """Built on first use, so its client's connection pool belongs to the server's loop."""
        if self._bolt is None:

            async def on_event(body: dict[str, Any], client: AsyncWebClient) -> None:
                await self.handle_envelope(body, on_new_message, client)

            async def on_interaction(body: dict[str, Any], client: AsyncWebClient) -> None:
                await self.handle_interaction(body, on_new_message, client)

            self._bolt = build_app(
                client=self.client,
                signing_secret=self.signing_secret,
                on_event=on_event,
                on_interaction=on_interaction,
                bot_token=self.bot_token,
                oauth=self.oauth,
                installations=self.installations,
            )
        return self._bolt

    async def dispatch(
        self, request: Request, body: bytes, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        """A verified request through bolt (url_verification, authorisation, listeners)."""
        try:
            bolt_request = to_bolt(request, body)
            answer = await self.bolt(on_new_message).async_dispatch(bolt_request)
        except MALFORMED:
            # bolt reads fields (user, team, actions) assuming Slack's types; a signed body
            # with other types is malformed, not a server fault.
            raise Rejected(400, "malformed event or payload") from None
        rejected = bolt_request.context.get(REJECTED)
        if isinstance(rejected, Rejected):
            raise rejected
        if answer.status == 404:
            # No listener for this kind (a shortcut, a view): acknowledged, or Slack retries it.
            return response.text("")
        return to_sanic(answer)

    # --- request handling -------------------------------------------------------------

    def _verify(self, request: Request) -> bytes:
        check_headers(request)
        body = check_size(request, self.max_body_bytes)
        self.verifier.check(
            body, request.headers.get("X-Slack-Request-Timestamp"), request.headers.get("X-Slack-Signature")
        )
        return body

    async def handle_envelope(
        self,
        envelope: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        client: AsyncWebClient | None = None,
    ) -> dict[str, Any]:
        """Process one verified Events API envelope (HTTP or Socket Mode); returns the ack body."""
        kind = envelope.get("type")
        if kind == "url_verification":
            challenge = envelope.get("challenge")
            if not isinstance(challenge, str):
                raise Rejected(400, "url_verification without challenge")
            return {"challenge": challenge}
        if kind != "event_callback":
            return {"ok": True}
        if self.desk is not None and await self._desk_event(envelope):
            return {"ok": True}
        try:
            inbound = from_event(envelope, self.granularity, self._bot_user_id)
        except (AttributeError, TypeError, ValueError, KeyError):
            raise Rejected(400, "malformed event") from None  # a field of the wrong type
        if inbound is not None:
            await self._accept(inbound, on_new_message, client)
        return {"ok": True}

    async def handle_interaction(
        self,
        payload: dict[str, Any],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        client: AsyncWebClient | None = None,
    ) -> None:
        if payload.get("type") != "block_actions":
            return
        if self.desk is not None and self.desk.is_desk_action(payload):
            who = payload.get("user") if isinstance(payload.get("user"), dict) else {}
            user = str(who.get("id") or "-")
            action_ts = str(payload["actions"][0].get("action_ts") or payload.get("trigger_id") or "")
            if await self.first_seen(f"desk:{user}:{action_ts}", "team channel"):
                self.runner.start(self.desk.button(payload), "team channel")
            return
        try:
            inbound = from_block_actions(payload, self.granularity)
        except (AttributeError, TypeError, ValueError, KeyError):
            raise Rejected(400, "malformed interaction payload") from None
        if inbound is not None:
            await self._accept(inbound, on_new_message, client)

    async def _desk_event(self, envelope: dict[str, Any]) -> bool:
        """True when the event was written in a handoff thread of the team channel: an agent's
        reply goes to the customer; anything else there (a mention, a bot post) is dropped,
        never answered by the bot as if a customer had asked."""
        assert self.desk is not None
        event = envelope.get("event")
        thread = self.desk.thread_of_event(event)
        if thread is None:
            return False
        assert isinstance(event, dict)
        bot_user_id = self._bot_user_id
        authorizations = envelope.get("authorizations") or []
        if not bot_user_id and authorizations and isinstance(authorizations[0], dict):
            bot_user_id = str(authorizations[0].get("user_id") or "") or None
        if self.desk.is_agent_reply(event, bot_user_id):
            if await self.first_seen(f"event:{envelope.get('event_id')}", thread.conversation_id):
                self.runner.start(self.desk.agent_reply(thread, event), thread.conversation_id)
        return True

    def output_for_conversation(self, conversation_id: str) -> _SlackOutput | None:
        """The channel (and thread) a Slack conversation id names (events.conversation_id)."""
        parts = conversation_id.split(":")
        if parts[0] != self.name() or len(parts) not in (3, 4):
            return None
        place, thread = parts[2], (parts[3] if len(parts) == 4 else None)
        # Per-user conversations name the user: chat.postMessage to a user id opens the DM.
        client = self.client_for_team(parts[1])
        return _SlackOutput(client, place, thread, conversation_id, self.send_attempts)

    async def _accept(
        self,
        inbound: Inbound,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        client: AsyncWebClient | None = None,
    ) -> None:
        if not await self.first_seen(inbound.dedupe_key, inbound.sender_id):
            return
        output = self.output_for(inbound, client)
        react = bool(self.reaction and inbound.react and inbound.ts)
        self.start_turn(
            on_new_message,
            output,
            inbound.text,
            inbound.sender_id,
            message_id=inbound.message_id,
            metadata=inbound.metadata,
            indicator=output.reacting(self.reaction, inbound.ts) if react else None,
        )

    @staticmethod
    def _check_api_token(request: Request) -> None:
        """The handoff route posts in the team's channel: only holders of Rasa's API token may."""
        expected = os.environ.get("RASA_API_TOKEN", "").strip()
        if not expected:
            raise Rejected(403, "set RASA_API_TOKEN on both servers to accept handoff notices")
        given = (request.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Rejected(401, "missing or wrong token")

    def _interaction_payload(self, body: bytes) -> dict[str, Any]:
        form = urllib.parse.parse_qs(decode_utf8(body), keep_blank_values=True)
        raw = form.get("payload")
        if not raw:
            raise Rejected(400, "form body without payload")
        payload = parse_json(raw[0], "payload")
        if not isinstance(payload, dict):
            raise Rejected(400, "payload is not a JSON object")
        return payload

    def add_routes(self, bp: Blueprint, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        async def events(request: Request) -> HTTPResponse:
            body = self._verify(request)
            kind = media_type(request)
            if kind == "application/json":
                # Bounded parse: a bad body is a 400 before bolt reads it (bolt would 404 it).
                envelope = parse_json_object(body)
                if envelope.get("type") == "event_callback" and not isinstance(envelope.get("event"), dict):
                    raise Rejected(400, "event_callback without event")
            elif kind == "application/x-www-form-urlencoded":
                self._interaction_payload(body)
            else:
                raise Rejected(415, "unsupported content type")
            return await self.dispatch(request, body, on_new_message)

        async def interactions(request: Request) -> HTTPResponse:
            body = self._verify(request)
            if media_type(request) != "application/x-www-form-urlencoded":
                raise Rejected(415, "unsupported content type")
            self._interaction_payload(body)
            return await self.dispatch(request, body, on_new_message)

        if self.oauth is not None:
            oauth = self.oauth

            async def install(request: Request) -> HTTPResponse:
                flow = self.bolt(on_new_message).oauth_flow
                return to_sanic(await flow.handle_installation(to_bolt(request, b"")))

            async def redirect(request: Request) -> HTTPResponse:
                flow = self.bolt(on_new_message).oauth_flow
                return to_sanic(await flow.handle_callback(to_bolt(request, b"")))

            prefix = "/webhooks/slack"
            bp.add_route(install, oauth.install_path.removeprefix(prefix), methods=["GET"], name="install")
            bp.add_route(
                redirect, oauth.redirect_path.removeprefix(prefix), methods=["GET"], name="oauth_redirect"
            )

        self.post(bp, "/events", events)
        self.post(bp, "/interactions", interactions)
        self.post(bp, "/handoff", self.team_handoff)

    async def team_handoff(self, request: Request) -> HTTPResponse:
        """The action server's handoff notice, posted in the team's channel."""
        body = check_size(request, self.max_body_bytes)
        self._check_api_token(request)
        if handoff.notifier() is None:
            raise Rejected(503, "no team channel configured (handoff_channel)")
        if media_type(request) != "application/json":
            raise Rejected(415, "unsupported content type")
        notice = parse_json_object(body)
        kind = notice.get("event", handoff.OPENED)
        if kind != handoff.OPENED:
            if kind not in steps.EVENTS:
                return response.json({"ok": True, "ignored": str(kind)})
            if not isinstance(notice.get("conversation_id"), str):
                raise Rejected(400, "conversation_id is missing")
            if not await handoff.relay(notice):
                return response.json({"ok": False, "error": "Slack did not accept the post"}, status=502)
            return response.json({"ok": True})
        try:
            parsed = handoff.parse_notice(notice)
        except ValueError as exc:
            raise Rejected(400, str(exc)) from None
        if not await handoff.announce(parsed):
            return response.json({"ok": False, "error": "Slack did not accept the post"}, status=502)
        return response.json({"ok": True})

    async def on_start(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        if self.socket_mode:
            from connectors.slack.socket_mode import start_socket_mode as start

            self._socket_client = await start(self, on_new_message)

    async def before_drain(self) -> None:
        if self._socket_client is not None:
            await self._socket_client.close()

    async def after_drain(self) -> None:
        if self._session is not None:
            await self._session.close()
