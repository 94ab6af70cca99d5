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
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.signature import Clock
from slack_sdk.web.async_client import AsyncWebClient

from connectors.common import handoff, logmask
from connectors.common.credentials import ChannelConfigError, as_bool, read_settings
from connectors.common.dedupe import DedupeStore, dedupe_from_settings
from connectors.common.runner import TurnRunner
from connectors.common.webhook import (
    DEFAULT_MAX_BODY,
    Rejected,
    check_headers,
    check_size,
    decode_utf8,
    guard_blueprint,
    media_type,
    parse_json,
    parse_json_object,
    reject,
)
from connectors.slack.events import GRANULARITIES, Inbound, from_block_actions, from_event
from connectors.slack.output import SlackOutput
from connectors.slack.team import SlackTeamNotifier
from connectors.slack.verify import SlackVerifier

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


REQUIRED = {"bot_token": "SLACK_BOT_TOKEN", "signing_secret": "SLACK_SIGNING_SECRET"}
OPTIONAL: dict[str, Any] = {
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
}


class SlackInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> SlackInput:
        settings = read_settings("slack", credentials, REQUIRED, OPTIONAL)
        if settings["conversation_granularity"] not in GRANULARITIES:
            raise ChannelConfigError(
                f"slack channel: 'conversation_granularity' must be one of {', '.join(GRANULARITIES)}"
            )
        socket_mode = as_bool(settings["socket_mode"])
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
    ) -> None:
        from connectors.common.dedupe import MemoryDedupe

        logmask.install([bot_token, signing_secret, app_token])
        self.bot_token = bot_token
        self.api_base_url = api_base_url if api_base_url.endswith("/") else api_base_url + "/"
        self.granularity = granularity
        self.reaction = reaction
        self.dedupe = dedupe or MemoryDedupe()
        self.socket_mode = socket_mode
        self.app_token = app_token
        self.max_body_bytes = max_body_bytes
        self.send_attempts = send_attempts
        self.verifier = SlackVerifier(signing_secret, clock)
        self.runner = TurnRunner("slack")
        self._client: AsyncWebClient | None = None
        self._session: aiohttp.ClientSession | None = None
        self._bot_user_id: str | None = None
        self._socket_client: Any = None
        self.handoff_channel = handoff_channel.strip()
        if self.handoff_channel:
            # Handoffs from every channel (Telegram, SMS too) are announced through this client.
            handoff.register(SlackTeamNotifier(lambda: self.client, self.handoff_channel, send_attempts))

    @property
    def client(self) -> AsyncWebClient:
        # Created lazily so its aiohttp session belongs to the server's event loop.
        if self._client is None:
            self._session = api_session()
            self._client = web_client(self.bot_token, self.api_base_url, self._session)
        return self._client

    def output_for(self, inbound: Inbound) -> SlackOutput:
        return SlackOutput(
            self.client, inbound.channel, inbound.thread_ts, inbound.sender_id, self.send_attempts
        )

    def get_output_channel(self) -> SlackOutput | None:
        return None  # a Slack reply needs a channel and thread, which only an inbound event gives

    # --- request handling -------------------------------------------------------------

    def _verify(self, request: Request) -> bytes:
        check_headers(request)
        body = check_size(request, self.max_body_bytes)
        self.verifier.check(
            body, request.headers.get("X-Slack-Request-Timestamp"), request.headers.get("X-Slack-Signature")
        )
        return body

    async def handle_envelope(
        self, envelope: dict[str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]]
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
        try:
            inbound = from_event(envelope, self.granularity, self._bot_user_id)
        except (AttributeError, TypeError, ValueError, KeyError):
            raise Rejected(400, "malformed event") from None  # a field of the wrong type
        if inbound is not None:
            await self._accept(inbound, on_new_message)
        return {"ok": True}

    async def handle_interaction(
        self, payload: dict[str, Any], on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        if payload.get("type") != "block_actions":
            return
        try:
            inbound = from_block_actions(payload, self.granularity)
        except (AttributeError, TypeError, ValueError, KeyError):
            raise Rejected(400, "malformed interaction payload") from None
        if inbound is not None:
            await self._accept(inbound, on_new_message)

    async def _accept(
        self, inbound: Inbound, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        if not await self.dedupe.first_seen(inbound.dedupe_key):
            logger.info(
                "slack: duplicate %s dropped (conversation %s)", inbound.dedupe_key, inbound.sender_id
            )
            return
        self.runner.start(self._turn(inbound, on_new_message), inbound.sender_id)

    async def _turn(self, inbound: Inbound, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        output = self.output_for(inbound)
        react = bool(self.reaction and inbound.react and inbound.ts)
        if react:
            output.react_meanwhile(self.reaction, inbound.ts)
        try:
            await on_new_message(
                UserMessage(
                    inbound.text,
                    output,
                    inbound.sender_id,
                    input_channel=self.name(),
                    message_id=inbound.message_id,
                    metadata=inbound.metadata,
                )
            )
        finally:
            if react:
                await output.end_reaction(self.reaction, inbound.ts)

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

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("nimbus_slack", __name__)
        guard_blueprint(bp, self.max_body_bytes)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/events", methods=["POST"])
        async def events(request: Request) -> HTTPResponse:
            try:
                body = self._verify(request)
                kind = media_type(request)
                if kind == "application/json":
                    return response.json(await self.handle_envelope(parse_json_object(body), on_new_message))
                if kind == "application/x-www-form-urlencoded":
                    await self.handle_interaction(self._interaction_payload(body), on_new_message)
                    return response.text("")
                raise Rejected(415, "unsupported content type")
            except Rejected as exc:
                return reject("slack", exc, request)

        @bp.route("/interactions", methods=["POST"])
        async def interactions(request: Request) -> HTTPResponse:
            try:
                body = self._verify(request)
                if media_type(request) != "application/x-www-form-urlencoded":
                    raise Rejected(415, "unsupported content type")
                await self.handle_interaction(self._interaction_payload(body), on_new_message)
                return response.text("")
            except Rejected as exc:
                return reject("slack", exc, request)

        @bp.route("/handoff", methods=["POST"])
        async def team_handoff(request: Request) -> HTTPResponse:
            try:
                body = check_size(request, self.max_body_bytes)
                self._check_api_token(request)
                if handoff.notifier() is None:
                    raise Rejected(503, "no team channel configured (handoff_channel)")
                if media_type(request) != "application/json":
                    raise Rejected(415, "unsupported content type")
                notice = parse_json_object(body)
                if notice.get("event", handoff.OPENED) != handoff.OPENED:
                    return response.json({"ok": True, "ignored": str(notice.get("event"))})
                try:
                    parsed = handoff.parse_notice(notice)
                except ValueError as exc:
                    raise Rejected(400, str(exc)) from None
                if not await handoff.announce(parsed):
                    return response.json({"ok": False, "error": "Slack did not accept the post"}, status=502)
                return response.json({"ok": True})
            except Rejected as exc:
                return reject("slack", exc, request)

        @bp.listener("after_server_start")
        async def start_socket_mode(app: Any, _loop: Any) -> None:
            if self.socket_mode:
                from connectors.slack.socket_mode import start_socket_mode as start

                self._socket_client = await start(self, on_new_message)

        @bp.listener("before_server_stop")
        async def drain(app: Any, _loop: Any) -> None:
            if self._socket_client is not None:
                await self._socket_client.close()
            await self.runner.drain()
            if self._session is not None:
                await self._session.close()

        return bp
