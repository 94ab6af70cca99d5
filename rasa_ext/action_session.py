"""Keep connections to the action server open between custom actions (`action_session` patch).

Rasa 3.6's `EndpointConfig.request` builds a new aiohttp session, and so a new TCP
connection, for every call: each answered message paid a connect, a fresh connection
pool and its teardown on the Rasa server's one event loop, and a new connection on the
action server. Here every endpoint (same headers and credentials) keeps one session per
event loop, so calls reuse idle keep-alive connections.

Decisions:
- No cap on connections per endpoint, as before: aiohttp's default pool of 100 would make
  the 101st concurrent custom action wait for a free connection, and custom actions wait
  on the model for seconds.
- The request body (the whole tracker, every event of the conversation) is encoded with
  ujson, a Rasa dependency: 0.9 -> 0.4 ms of the event loop for a ten-turn conversation
  (83 events, ~50 KB), and the cost grows with every turn. The action server parses the
  same JSON: ujson writes floats as their shortest round-trip form, as `json` does, and
  escapes `/` as `\\/`, which JSON allows. Whatever ujson refuses is handed to
  `json.dumps`, so a payload fails (or not) exactly as it did with Rasa's encoder.
- Idle connections are dropped after `ACTION_KEEPALIVE_SECONDS` (default 15 s, aiohttp's
  default), well inside rasa-sdk's 120 s, so Rasa never writes to a connection the action
  server is closing. Behind a load balancer that drops idle connections sooner, set it
  lower; `0` restores a connection per call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from functools import lru_cache
from typing import Any

import aiohttp
import ujson
from rasa.utils import endpoints

log = logging.getLogger(__name__)

DEFAULT_KEEPALIVE = 15.0
# Rasa's own `EndpointConfig.session`, set by the patch that replaces it.
rasa_session: Any = endpoints.EndpointConfig.session
# (event loop, headers, credentials) -> that endpoint's session on that loop
_sessions: dict[tuple, aiohttp.ClientSession] = {}


def keepalive_seconds() -> float:
    return _parse_keepalive(os.environ.get("ACTION_KEEPALIVE_SECONDS", "").strip())


@lru_cache(maxsize=8)
def _parse_keepalive(raw: str) -> float:
    """Cached per value, so a bad setting is logged once, not on every custom action."""
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_KEEPALIVE
    except ValueError:
        log.warning("ACTION_KEEPALIVE_SECONDS=%r is not a number; using %.0f s", raw, DEFAULT_KEEPALIVE)
        return DEFAULT_KEEPALIVE


def encode_json(payload: Any) -> str:
    try:
        return ujson.dumps(payload)
    except (OverflowError, TypeError, ValueError):
        return json.dumps(payload)


class _Lent:
    """`async with` that hands out the shared session and leaves it open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def _new_session(config: endpoints.EndpointConfig, keepalive: float) -> aiohttp.ClientSession:
    # Rasa's own `session()` arguments; only the connector is ours (no cap, keep-alive).
    auth = None
    if config.basic_auth:
        auth = aiohttp.BasicAuth(config.basic_auth["username"], config.basic_auth["password"])
    return aiohttp.ClientSession(
        headers=config.headers,
        auth=auth,
        timeout=aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT),
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=keepalive),
        json_serialize=encode_json,
    )


def shared_session(self: endpoints.EndpointConfig) -> Any:
    """Replaces `EndpointConfig.session`; every caller uses it as `async with`."""
    keepalive = keepalive_seconds()
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if not keepalive or loop is None:
        return rasa_session(self)
    key = (
        loop,
        tuple(sorted((str(k), str(v)) for k, v in self.headers.items())),
        tuple(sorted(self.basic_auth.items())),
    )
    session = _sessions.get(key)
    if session is None or session.closed:
        _forget_closed_loops()
        session = _sessions[key] = _new_session(self, keepalive)
    return _Lent(session)


def _forget_closed_loops() -> None:
    for key, session in list(_sessions.items()):
        if session.closed or key[0].is_closed():
            del _sessions[key]


async def close_sessions(*_: Any) -> None:
    """Close this loop's sessions (server shutdown), so no connection is left half-open."""
    loop = asyncio.get_running_loop()
    for key, session in list(_sessions.items()):
        if key[0] is loop:
            del _sessions[key]
            await session.close()
