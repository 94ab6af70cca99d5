"""How many characters an answer's body may use on each channel.

One table for the extractive answerer (which cuts a section to fit), the prompt (which
asks the model to stay inside it), the renderers and `kb eval` (which measures whether
the facts a customer needs survive the cut). The renderers still enforce each platform's
own hard limits; this budget is what reads well there, and it is smaller.

SMS: three GSM-7 segments carry 459 characters; the sources line
(`[1] help.nimbushome.example/articles/...`, about 65) and the last line must fit beside
the body, with a line break before each: the feedback prompt (34), or when the answer
leaves out part of the REST-budget one, the offer of the rest merged with it (52,
"Reply MORE for the rest, 1 if this helped, 2 if not."; actions/render/sms.py). So the
body gets 340 (340 + 2 + 65 + 52 = 459); a longer link or an escape character (`[`, `]`
count twice in GSM-7) makes the renderer drop the body's last sentence, which MORE then
brings (measured: no answer cut among 233 offers, docs/knowledge-quality.md). The
customer's MORE gets the REST-budget answer in one longer SMS (`SMS_MORE_SEGMENTS`).
REST, Slack and Telegram show a section of a help article comfortably; 1,000 characters
is the longest section of the sample help centre with its heading.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DEFAULT_CHANNEL = "rest"
BUDGETS: dict[str, int] = {
    "rest": 1000,
    "slack": 1200,
    "telegram": 1200,
    "sms": 340,
}


# Channels whose budget leaves room for one sources line only ("[1] example.com/x").
ONE_SOURCE_LINE = frozenset({"sms"})


def extra_source_lines(urls: Iterable[str]) -> int:
    """Characters of the sources lines after the first ("[2] example.com/x" and a line
    break): on a channel with room for one, an answer citing two articles leaves that much
    of its budget, or the renderer cuts its last sentences to make room."""
    shown = [re.sub(r"^https?://(www\.)?", "", url or "").rstrip("/") for url in dict.fromkeys(urls)]
    return sum(len(url) + len("[n] \n") for url in shown[1:])


def budget_for(channel: str | None) -> int:
    """Characters of answer body (Markdown, citation markers included) for a channel."""
    return BUDGETS.get((channel or DEFAULT_CHANNEL).lower(), BUDGETS[DEFAULT_CHANNEL])
