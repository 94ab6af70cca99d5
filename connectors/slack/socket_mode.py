"""Socket Mode: receive the same events over a WebSocket, for workspaces without a public URL.

Slack delivers Events API envelopes and interaction payloads through the socket; each is
acknowledged immediately and handled exactly like its HTTP twin (same dedupe, same turns).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from rasa.core.channels.channel import UserMessage
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from connectors.common.webhook import Rejected

if TYPE_CHECKING:
    from connectors.slack.channel import SlackInput

logger = logging.getLogger(__name__)


async def start_socket_mode(
    channel: SlackInput, on_new_message: Callable[[UserMessage], Awaitable[Any]]
) -> SocketModeClient:
    client = SocketModeClient(app_token=channel.app_token, web_client=channel.client)

    async def listener(socket: SocketModeClient, request: SocketModeRequest) -> None:
        await socket.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        try:
            if request.type == "events_api":
                await channel.handle_envelope(request.payload, on_new_message)
            elif request.type == "interactive":
                await channel.handle_interaction(request.payload, on_new_message)
        except Rejected as exc:
            logger.info("slack socket mode: ignored %s payload: %s", request.type, exc.reason)

    client.socket_mode_request_listeners.append(listener)
    await client.connect()
    logger.info("slack: Socket Mode connected")
    return client
