"""Keep phone numbers and secrets out of logs, including lines Rasa itself writes.

SMS conversations are keyed by phone number, so Rasa's own debug lines would print it;
a filter on the root handlers masks numbers and registered secrets in every record.
"""

from __future__ import annotations

import logging
import re

_PHONE = re.compile(r"(?<![\w+])\+\d[\d\-\s().]{5,18}\d(?!\d)")  # E.164, as platforms send it


def mask_phone(number: str | None) -> str:
    """Keep only the last two digits: enough to tell two users apart in a log, not to call them."""
    if not number:
        return "<none>"
    digits = re.sub(r"\D", "", number)
    if len(digits) < 4:
        return "***"
    prefix = "+" if number.strip().startswith("+") else ""
    return f"{prefix}{'*' * (len(digits) - 2)}{digits[-2:]}"


def mask_phones_in(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return mask_phone(match.group(0)) if len(digits) >= 8 else match.group(0)

    return _PHONE.sub(repl, text)


class MaskingFilter(logging.Filter):
    """Rewrites each record's message with secrets removed and phone numbers masked."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()
        self.mask_phones = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets and not self.mask_phones:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is not ours to fix
            return True
        cleaned = message
        for secret in self.secrets:
            cleaned = cleaned.replace(secret, "***")
        if self.mask_phones:
            cleaned = mask_phones_in(cleaned)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = MaskingFilter()


def install(secrets: list[str] | tuple[str, ...] = (), phones: bool = False) -> MaskingFilter:
    """Register secrets (and optionally phone masking) on the root logger's handlers."""
    _FILTER.secrets.update(s for s in secrets if s and len(s) >= 6)
    _FILTER.mask_phones = _FILTER.mask_phones or phones
    root = logging.getLogger()
    for handler in root.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    if _FILTER not in root.filters:
        root.addFilter(_FILTER)
    return _FILTER
