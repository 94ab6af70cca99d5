"""The input-channel skeleton every platform shares, so a new channel writes only its own pieces.

A webhook channel does the same five things whatever the platform: verify the request
(signature, size, content type), parse it into a customer message, drop a platform retry
(dedupe), acknowledge at once, and run the Rasa turn in the background, draining the
running turns when the server stops. This class does the route plumbing (health GET,
POSTs wrapped so a `Rejected` becomes its 4xx, start/stop listeners), the dedupe check
and the background turn; a platform subclass adds its routes in `add_routes` and
brings its verifier, its parser and its client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any, ClassVar

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.common.credentials import read_settings
from connectors.common.dedupe import DedupeStore, MemoryDedupe
from connectors.common.rasa_turn import hand_to_rasa
from connectors.common.reachback import ConversationOutput
from connectors.common.runner import TurnRunner
from connectors.common.webhook import DEFAULT_MAX_BODY, Rejected, guard_blueprint, reject

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
Handler = Callable[[Request], Awaitable[HTTPResponse]]


class WebhookInput(InputChannel):
    """Base of our input channels; subclasses set `channel_name` and define `add_routes()`."""

    channel_name: ClassVar[str] = ""
    REQUIRED: ClassVar[Mapping[str, str]] = {}  # settings key -> environment variable
    OPTIONAL: ClassVar[Mapping[str, Any]] = {}  # settings key -> default

    @classmethod
    def name(cls) -> str:
        return cls.channel_name

    @classmethod
    def settings(cls, credentials: Mapping[str, Any] | None) -> dict[str, Any]:
        """credentials.yml's section, checked against `REQUIRED` and `OPTIONAL`."""
        return read_settings(cls.channel_name, credentials, cls.REQUIRED, cls.OPTIONAL)

    def __init__(self, dedupe: DedupeStore | None = None, max_body_bytes: int = DEFAULT_MAX_BODY) -> None:
        self.dedupe = dedupe or MemoryDedupe()
        self.max_body_bytes = max_body_bytes
        self.runner = TurnRunner(self.name())

    def get_output_channel(self) -> OutputChannel | None:
        """For messages outside a customer's turn (Rasa's HTTP API with `output_channel=latest`):
        each goes to the conversation it is for (`recipient_id`), never to a fixed channel;
        None for a channel that cannot reach a conversation by its id."""
        if type(self).output_for_conversation is WebhookInput.output_for_conversation:
            return None
        return ConversationOutput(self.name(), self.output_for_conversation)

    def output_for_conversation(self, conversation_id: str) -> OutputChannel | None:
        """The output that reaches `conversation_id` now (an agent's reply, a hand-back)."""
        return None

    # --- the pieces a platform fills in -------------------------------------------------

    def add_routes(self, bp: Blueprint, on_new_message: OnNewMessage) -> None:
        """Register the platform's POST routes, usually through `self.post(...)`."""
        raise NotImplementedError

    async def on_start(self, on_new_message: OnNewMessage) -> None:
        """After the server started (Socket Mode, long polling)."""

    async def before_drain(self) -> None:
        """Stop taking new messages from non-webhook sources before running turns drain."""

    async def after_drain(self) -> None:
        """Close the platform client once no turn needs it any more."""

    # --- the skeleton -------------------------------------------------------------------

    def post(self, bp: Blueprint, path: str, handler: Handler) -> None:
        """A POST route whose `Rejected` becomes a clear 4xx, logged without the body."""

        async def route(request: Request) -> HTTPResponse:
            try:
                return await handler(request)
            except Rejected as exc:
                return reject(self.name(), exc, request)

        bp.add_route(route, path, methods=["POST"], name=path.strip("/").replace("/", "_") or "root")

    async def first_seen(self, key: str, conversation: str) -> bool:
        """False (and logged) for a platform's retry of an event already accepted."""
        if await self.dedupe.first_seen(key):
            return True
        logger.info("%s: duplicate %s dropped (conversation %s)", self.name(), key, conversation)
        return False

    def start_turn(
        self,
        on_new_message: OnNewMessage,
        output: OutputChannel,
        text: str,
        conversation: str,
        **options: Any,
    ) -> asyncio.Task:
        """Run `turn` in the background (the webhook is acknowledged before the answer)."""
        turn = self.turn(on_new_message, output, text, conversation, **options)
        return self.runner.start(turn, conversation)

    async def turn(
        self,
        on_new_message: OnNewMessage,
        output: OutputChannel,
        text: str,
        conversation: str,
        *,
        message_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        indicator: AbstractAsyncContextManager[Any] | None = None,
    ) -> None:
        """One Rasa turn, with the platform's "working on it" indicator around it."""
        message = UserMessage(
            text, output, conversation, input_channel=self.name(), message_id=message_id, metadata=metadata
        )
        async with indicator or nullcontext():
            await hand_to_rasa(on_new_message, message)  # a store outage gets an apology

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        bp = Blueprint(f"nimbus_{self.name()}", __name__)
        guard_blueprint(bp, self.max_body_bytes)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        self.add_routes(bp, on_new_message)

        @bp.listener("after_server_start")
        async def start(app: Any, _loop: Any) -> None:
            await self.on_start(on_new_message)

        @bp.listener("before_server_stop")
        async def drain(app: Any, _loop: Any) -> None:
            await self.before_drain()
            await self.runner.drain()
            await self.after_drain()

        return bp
