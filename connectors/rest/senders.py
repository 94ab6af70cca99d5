"""Sender ids for web widgets, issued and signed by the server.

A browser can send any `sender` it likes; if the conversation were keyed by it, one
visitor could type another's id and read or steer that conversation. So in widget (or
token) mode the server hands out random ids with an HMAC tag, and accepts only ids that
carry a valid tag: an id cannot be guessed from another, nor made up.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

_SIGNED = re.compile(r"^([A-Za-z0-9_-]{16,64})\.([A-Za-z0-9_-]{22})$")


class SenderSigner:
    def __init__(self, key: str) -> None:
        self._key = key.encode("utf-8")

    def _tag(self, visitor: str) -> str:
        digest = hmac.new(self._key, b"nimbus-web-sender:" + visitor.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode("ascii").rstrip("=")

    def issue(self) -> str:
        visitor = secrets.token_urlsafe(18)
        return f"{visitor}.{self._tag(visitor)}"

    def valid(self, sender: str) -> bool:
        match = _SIGNED.match(sender)
        return bool(match) and hmac.compare_digest(match.group(2), self._tag(match.group(1)))
