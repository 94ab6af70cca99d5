"""Uniform, quiet rejection of bad webhook requests.

A rejected request is answered with a 4xx and a short reason, logged without its body
(it may hold a forged message or personal data), and never reaches the dialogue.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 256 * 1024


class Rejected(Exception):
    """Raised inside a handler to answer with `status` and stop processing."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def reject(channel: str, exc: Rejected, request: Request) -> HTTPResponse:
    logger.info(
        "%s: rejected %s %s with %d: %s", channel, request.method, request.path, exc.status, exc.reason
    )
    return response.json({"ok": False, "error": exc.reason}, status=exc.status)


def check_size(request: Request, limit: int) -> bytes:
    body = request.body or b""
    if len(body) > limit:
        raise Rejected(413, "body too large")
    return body


def media_type(request: Request) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


def decode_utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "body is not valid UTF-8") from None


def ensure_clean_text(value: Any) -> None:
    """Refuse strings Rasa could not store (lone surrogates from `\\ud800`-style escapes)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Rejected(400, "text contains invalid Unicode") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            ensure_clean_text(key)
            ensure_clean_text(item)
    elif isinstance(value, list):
        for item in value:
            ensure_clean_text(item)


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(decode_utf8(body))
    except json.JSONDecodeError:
        raise Rejected(400, "body is not valid JSON") from None
    if not isinstance(data, dict):
        raise Rejected(400, "body is not a JSON object")
    ensure_clean_text(data)
    return data


def ok(payload: dict[str, Any] | None = None) -> HTTPResponse:
    return response.json(payload or {"ok": True})
