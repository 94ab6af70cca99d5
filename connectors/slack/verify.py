"""Slack request signing (v0 HMAC-SHA256 over `v0:{timestamp}:{body}`, 5-minute window)."""

from __future__ import annotations

from slack_sdk.signature import Clock, SignatureVerifier

from connectors.common.webhook import Rejected

REPLAY_WINDOW = 60 * 5


class SlackVerifier:
    """Wraps slack_sdk's verifier so every failure becomes a 401 with a precise reason."""

    def __init__(self, signing_secret: str, clock: Clock | None = None) -> None:
        self._clock = clock or Clock()
        self._verifier = SignatureVerifier(signing_secret, clock=self._clock)

    def check(self, body: bytes, timestamp: str | None, signature: str | None) -> None:
        if not timestamp or not signature:
            raise Rejected(401, "missing X-Slack-Request-Timestamp or X-Slack-Signature")
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise Rejected(401, "malformed X-Slack-Request-Timestamp") from None
        if abs(self._clock.now() - sent_at) > REPLAY_WINDOW:
            raise Rejected(401, "stale request timestamp")
        try:
            valid = self._verifier.is_valid(body, timestamp, signature)
        except UnicodeDecodeError:
            raise Rejected(400, "body is not valid UTF-8") from None  # Slack always sends UTF-8
        if not valid:
            raise Rejected(401, "invalid signature")
