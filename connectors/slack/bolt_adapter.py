"""Hand a Sanic request to slack-bolt's AsyncApp and its answer back: the whole adapter.

bolt ships a Sanic adapter, but it sets cookies through `HTTPResponse.add_cookie`, which
Sanic 21 (pinned by Rasa) does not have, so its OAuth flow fails there. Bolt's responses
already carry their `Set-Cookie` header lines, so they are passed through as lines.
"""

from __future__ import annotations

from typing import Any

from sanic.request import Request
from sanic.response import HTTPResponse
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse


def to_bolt(request: Request, body: bytes | None = None, **context: Any) -> AsyncBoltRequest:
    """`body` is the already-verified body when the caller read it (it is read only once)."""
    raw = request.body if body is None else body
    headers: dict[str, list[str]] = {}
    for name, value in request.headers.items():
        headers.setdefault(name.lower(), []).append(value)
    bolt = AsyncBoltRequest(body=raw.decode("utf-8"), query=request.query_string, headers=headers)
    for key, value in context.items():
        bolt.context[key] = value
    return bolt


def to_sanic(answer: BoltResponse) -> HTTPResponse:
    response = HTTPResponse(status=answer.status, body=answer.body)
    for name, values in answer.headers.items():
        for value in values:
            response.headers.add(name, value)
    return response
