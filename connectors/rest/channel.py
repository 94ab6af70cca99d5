"""The REST / web channel: Rasa's REST path and shapes, with conversations of its own.

Rasa's built-in `rest` channel used the `sender` it was given as the conversation id,
on the same public port as the platform webhooks, so `{"sender": "telegram:7612345"}`
was that Telegram customer's conversation. Here every conversation id is
`web:<sender>`: no request to this channel can address a Slack, Telegram or SMS
conversation. Who may call it is decided in access.py; in widget or token mode the
sender must be an id this server issued and signed (POST /webhooks/rest/session).

Routes (prefix /webhooks/rest): GET / (health), POST /webhook, POST /session, POST /poll
(messages that came outside a request, e.g. an agent's reply during a handoff: pending.py;
they also lead the response to the client's next message).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.common import logmask
from connectors.common.channel import WebhookInput
from connectors.common.credentials import as_bool
from connectors.common.dedupe import default_dedupe_db
from connectors.common.rasa_turn import hand_to_rasa
from connectors.common.webhook import (
    MAX_TEXT_CHARS,
    Rejected,
    check_size,
    customer_text,
    parse_json_object,
)
from connectors.rest.access import check_access
from connectors.rest.output import WebOutput
from connectors.rest.pending import PendingMessages, PendingOutput
from connectors.rest.senders import SenderSigner

logger = logging.getLogger(__name__)

NAMESPACE = "web:"
_SENDER = re.compile(r"^[A-Za-z0-9_.:@+=-]{1,128}$")
# Payloads our own code puts on buttons (actions/render/base.py `feedback_payload`) and a
# widget's conventional start payload; the action checks a feedback ref belongs to the
# conversation. Any other text starting with "/" is the customer's text.
_OWN_PAYLOAD = re.compile(
    r'^/(?:greet|(?:feedback_helpful|feedback_unhelpful)(?:\{"ref":"[A-Za-z0-9_-]{1,64}"\})?)$'
)

OPTIONAL: dict[str, Any] = {
    "token": "",  # bearer token for server-to-server callers; default: loopback only
    "widget": False,  # public, for browser widgets: signed sender ids required
    "signing_key": "",  # key for sender ids; default: the token, else random per start
    "max_body_bytes": 16 * 1024,
    "pending_db": "",  # agents' replies waiting for the client; default beside the dedupe store
}


class RestInput(WebhookInput):
    """Answers in the HTTP response, so it uses the skeleton's routes but neither dedupe nor
    background turns."""

    channel_name = "rest"
    OPTIONAL = OPTIONAL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestInput:
        settings = cls.settings(credentials)
        return cls(
            token=str(settings["token"] or ""),
            widget=as_bool(settings["widget"]),
            signing_key=str(settings["signing_key"] or ""),
            max_body_bytes=int(settings["max_body_bytes"]),
            pending_db=str(settings["pending_db"] or ""),
        )

    def __init__(
        self,
        token: str = "",
        widget: bool = False,
        signing_key: str = "",
        max_body_bytes: int = 16 * 1024,
        pending_db: str = "",
    ) -> None:
        logmask.install([token, signing_key])
        self.pending = PendingMessages(
            pending_db or str(Path(default_dedupe_db()).with_name("rest_pending.sqlite"))
        )
        super().__init__(max_body_bytes=max_body_bytes)
        self.token = token
        self.widget = widget
        key = signing_key or token
        if not key and widget:
            logger.warning(
                "rest channel: widget mode without signing_key: sender ids are signed with a random "
                "key and stop being valid when the server restarts"
            )
        self.signer = SenderSigner(key or secrets.token_urlsafe(32))

    @property
    def signed_senders(self) -> bool:
        return bool(self.token) or self.widget

    def _sender(self, data: dict[str, Any]) -> str:
        sender = data.get("sender")
        if not isinstance(sender, str) or not _SENDER.match(sender):
            raise Rejected(400, "sender must be 1-128 letters, digits or _.:@+=-")
        if self.signed_senders and not self.signer.valid(sender):
            raise Rejected(403, "sender is not an id issued by this server (POST /webhooks/rest/session)")
        return sender

    def _sender_and_text(self, request: Request) -> tuple[str, str]:
        # Any content type, as Rasa's REST channel: `curl -d '{...}'` sends a form type.
        data = parse_json_object(check_size(request, self.max_body_bytes))
        sender, text = self._sender(data), data.get("message")
        if not isinstance(text, str):
            raise Rejected(400, "message must be a string")
        if len(text) > MAX_TEXT_CHARS:
            raise Rejected(413, "message too long")
        text = text.strip()
        return sender, text if _OWN_PAYLOAD.match(text) else customer_text(text)

    async def handle(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        check_access(request, self.token, self.widget)
        sender, text = self._sender_and_text(request)
        conversation = NAMESPACE + sender
        earlier = self.pending.take(conversation)  # an agent's replies since the last request
        if not text:
            return response.json(earlier)
        output = WebOutput(conversation, sender)
        try:
            await hand_to_rasa(
                on_new_message, UserMessage(text, output, conversation, input_channel=self.name())
            )
        except Exception:  # noqa: BLE001 - the caller gets what was said so far, never a 500
            logger.exception("rest: turn failed in conversation %s", conversation)
        return response.json(earlier + output.for_caller())

    def output_for_conversation(self, conversation_id: str) -> PendingOutput | None:
        if not conversation_id.startswith(NAMESPACE):
            return None
        return PendingOutput(conversation_id, conversation_id[len(NAMESPACE) :], self.pending)

    def add_routes(self, bp: Blueprint, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        async def webhook(request: Request) -> HTTPResponse:
            return await self.handle(request, on_new_message)

        async def session(request: Request) -> HTTPResponse:
            """A new signed sender id: a widget calls this once per visitor and keeps the id."""
            check_access(request, self.token, self.widget)
            return response.json({"sender": self.signer.issue()})

        async def poll(request: Request) -> HTTPResponse:
            """What reached the conversation outside its requests (an agent's reply), once."""
            check_access(request, self.token, self.widget)
            sender = self._sender(parse_json_object(check_size(request, self.max_body_bytes)))
            return response.json(self.pending.take(NAMESPACE + sender))

        self.post(bp, "/webhook", webhook)
        self.post(bp, "/session", session)
        self.post(bp, "/poll", poll)
