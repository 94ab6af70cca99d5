"""Slack mrkdwn escaping: plain text must not turn into mentions, links or markup."""

from __future__ import annotations

from contract.limits import SLACK_MAX_BLOCKS as MAX_BLOCKS
from contract.limits import SLACK_TEXT_LIMIT as TEXT_LIMIT

__all__ = ["MAX_BLOCKS", "TEXT_LIMIT", "escape_mrkdwn"]


def escape_mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
