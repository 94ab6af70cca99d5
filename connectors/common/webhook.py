"""Uniform, quiet rejection of bad webhook requests.

A rejected request is answered with a 4xx and a short reason, logged without its body
(it may hold a forged message or personal data), and never reaches the dialogue. Every
webhook shares the same guards: a body limit enforced while the body streams in (see
`guard_blueprint`), ASCII-only header values, and JSON bounded in depth and number size,
because each of those otherwise ends in a 500 or in memory spent before any check ran.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 256 * 1024
# Deeper than any platform's payload (Slack's block_actions nest about 10 levels); the
# json module recurses per level and fails with RecursionError near 1,000.
MAX_JSON_DEPTH = 64
# Platform ids fit in 20 digits; Python refuses to parse integers over 4,300 digits with
# a ValueError, and long ones cost quadratic time before that.
MAX_INT_DIGITS = 40
# What the bot keeps of any metadata string (names, titles): enough to greet someone,
# never a 200 KB "first name" copied into every event of the tracker.
MAX_META_STRING = 128
MAX_TEXT_CHARS = 4096  # Telegram's own message limit; Slack and SMS messages are shorter

# The largest body any loaded channel accepts; Sanic refuses anything bigger for every
# route of the server while it streams in, before a handler buffers it.
_largest_limit = 0


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


def json_depth(value: Any) -> int:
    """Nesting depth of parsed JSON, measured without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in item if isinstance(child, (dict, list)))
    return deepest


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError("integer too long")
    return int(digits)


def parse_json(text: str, what: str = "body") -> Any:
    """json.loads with the depth and integer size every webhook accepts; 400 otherwise."""
    try:
        data = json.loads(text, parse_int=_bounded_int)
    except json.JSONDecodeError:
        raise Rejected(400, f"{what} is not valid JSON") from None
    except (ValueError, RecursionError):
        raise Rejected(400, f"{what} holds a number or nesting out of bounds") from None
    if json_depth(data) > MAX_JSON_DEPTH:
        raise Rejected(400, f"{what} is nested too deeply")
    ensure_clean_text(data)
    return data


def parse_json_object(body: bytes, what: str = "body") -> dict[str, Any]:
    data = parse_json(decode_utf8(body), what)
    if not isinstance(data, dict):
        raise Rejected(400, f"{what} is not a JSON object")
    return data


def check_headers(request: Request) -> None:
    """Header values must be ASCII; Sanic hands others on as surrogate-escaped strings that
    signature libraries cannot encode (a 500 with a traceback per request)."""
    for name, value in request.headers.items():
        if not value.isascii() or not name.isascii():
            raise Rejected(400, "header value is not ASCII")


def bounded(value: Any, max_string: int = MAX_META_STRING) -> Any:
    """Metadata as the bot keeps it: strings cut to `max_string`, only JSON scalars,
    lists and dicts; stored in every user event, so its size is the tracker's size."""
    if isinstance(value, str):
        return value[:max_string]
    if isinstance(value, dict):
        return {str(k)[:max_string]: bounded(v, max_string) for k, v in list(value.items())[:32]}
    if isinstance(value, (list, tuple)):
        return [bounded(v, max_string) for v in list(value)[:32]]
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**MAX_INT_DIGITS else None
    return None


_INTENT_LIKE = re.compile(r"^[\s/]+")


def customer_text(text: str) -> str:
    """What a customer typed, as text for the NLU pipeline.

    Rasa reads a message that starts with `/` as `/intent{entities}` and skips NLU, so a
    customer could run any intent with any entities by typing it. Only payloads our own
    code produces (button values, Telegram's command mapping) may take that form; typed
    text loses its leading slashes and is understood like any other sentence.
    """
    return _INTENT_LIKE.sub("", text)[:MAX_TEXT_CHARS].strip()


def guard_blueprint(bp: Blueprint, limit: int) -> None:
    """Apply the shared guards to one channel's blueprint.

    - Sanic's REQUEST_MAX_SIZE becomes the largest limit of the loaded channels (unless
      the operator set SANIC_REQUEST_MAX_SIZE), so an oversized body on any route is
      refused from its Content-Length, or while streaming, before it is buffered.
    - This blueprint's routes get their own, possibly smaller, limit the same way,
      through Sanic's `http.routing.after` signal, which runs before the body is read.
    - Non-ASCII header values are refused with 400 before any handler runs.
    """
    global _largest_limit
    _largest_limit = max(_largest_limit, limit)
    marker = f".{bp.name}."

    @bp.listener("before_server_start")
    async def set_request_max_size(app: Any, _loop: Any) -> None:
        if "SANIC_REQUEST_MAX_SIZE" not in os.environ:
            app.config.REQUEST_MAX_SIZE = _largest_limit

    @bp.signal("http.routing.after")
    async def limit_body(request: Request, route: Any, **_: Any) -> None:
        if marker in f".{route.name}." and request.stream is not None:
            request.stream.request_max_size = min(request.stream.request_max_size, limit)

    @bp.middleware("request")
    async def ascii_headers(request: Request) -> HTTPResponse | None:
        try:
            check_headers(request)
        except Rejected as exc:
            return reject(bp.name, exc, request)
        return None


def ok(payload: dict[str, Any] | None = None) -> HTTPResponse:
    return response.json(payload or {"ok": True})
