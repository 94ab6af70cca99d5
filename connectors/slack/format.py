"""Slack mrkdwn escaping: plain text must not turn into mentions, links or markup."""

from __future__ import annotations

TEXT_LIMIT = 3900  # Slack truncates message text past 40k, but recommends staying under 4k
MAX_BLOCKS = 50


def escape_mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
