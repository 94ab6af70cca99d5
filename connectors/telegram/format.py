"""Telegram HTML: escaping plain text, and splitting HTML under 4096 visible characters.

Telegram measures the limit on the text after entity parsing (tags do not count, `&amp;`
counts as one). A part may never end inside a tag or leave a tag open: each cut closes
the open tags and the next part reopens them, so formatting survives the split.
"""

from __future__ import annotations

import html
import re

from contract.limits import TELEGRAM_CALLBACK_DATA_BYTES, TELEGRAM_MESSAGE_LIMIT

MESSAGE_LIMIT = TELEGRAM_MESSAGE_LIMIT
CALLBACK_DATA_LIMIT = TELEGRAM_CALLBACK_DATA_BYTES

_TOKEN = re.compile(
    r"<[^>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);|\n\n|\n|(?<=[.!?])[ ]+|[ ]+|[^<&\n .!?]+|[^<]"
)
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z0-9-]+)[^>]*>")


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def visible_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after entities are parsed."""
    return len(text.encode("utf-16-le")) // 2


def strip_tags(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", markup))


def _break_priority(token: str) -> int:
    if token == "\n\n":
        return 4
    if token == "\n":
        return 3
    if token.strip() == "" and token:
        return 1  # spaces; sentence ends are detected from the text before them
    return 0


def _tokens(markup: str) -> list[str]:
    return _TOKEN.findall(markup)


def _open_tags(tokens: list[str]) -> list[tuple[str, str]]:
    stack: list[tuple[str, str]] = []
    for token in tokens:
        match = _TAG.fullmatch(token)
        if not match:
            continue
        closing, name = match.group(1), match.group(2).lower()
        if closing:
            for i in range(len(stack) - 1, -1, -1):
                if stack[i][0] == name:
                    del stack[i:]
                    break
        elif not token.endswith("/>"):
            stack.append((name, token))
    return stack


def _token_length(token: str) -> int:
    if token.startswith("<"):
        return 0
    return visible_length(html.unescape(token))


def split_html(markup: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split Telegram HTML into parts of at most `limit` visible units, closing/reopening tags."""
    tokens = _tokens(markup.strip())
    # A text token longer than the limit on its own is cut into escaped chunks.
    expanded: list[str] = []
    for token in tokens:
        if _token_length(token) > limit:
            plain = html.unescape(token)
            step = max(1, limit // 2)
            expanded.extend(escape(plain[i : i + step]) for i in range(0, len(plain), step))
        else:
            expanded.append(token)
    parts: list[str] = []
    carry: list[str] = []  # opening tags to repeat at the start of the next part
    current: list[str] = []
    length = 0
    for token in expanded:
        size = _token_length(token)
        if length + size > limit and current:
            cut = _best_cut(current)
            head, tail = current[:cut], current[cut:]
            opened = _open_tags(carry + head)
            parts.append("".join(carry + head) + "".join(f"</{name}>" for name, _ in reversed(opened)))
            carry = [tag for _, tag in opened]
            current = [t for t in tail]
            while current and current[0].strip() == "" and not current[0].startswith("<"):
                current.pop(0)  # no part starts with whitespace
            length = sum(_token_length(t) for t in current)
        current.append(token)
        length += size
    if current:
        parts.append("".join(carry + current))
    return [p.strip() for p in parts if strip_tags(p).strip()]


def _best_cut(tokens: list[str]) -> int:
    """Index to cut at: after the strongest break in the latter half of the part."""
    total = sum(_token_length(t) for t in tokens)
    best, best_priority, seen = len(tokens), -1, 0
    for index, token in enumerate(tokens):
        seen += _token_length(token)
        priority = _break_priority(token)
        if priority and index > 0 and re.search(r"[.!?]$", tokens[index - 1]) and priority == 1:
            priority = 2  # a space after a sentence end
        if priority and seen >= total / 3 and priority >= best_priority:
            best, best_priority = index + 1, priority
    return best


def button_rows(buttons: object) -> list[list[dict[str, str]]]:
    """Normalise renderer buttons ([[{text, callback_data}]] or a flat list) into rows."""
    rows: list[list[dict[str, str]]] = []
    if not isinstance(buttons, list):
        return rows
    for row in buttons:
        items = row if isinstance(row, list) else [row]
        clean = [b for b in items if isinstance(b, dict) and isinstance(b.get("text"), str)]
        if clean:
            rows.append(clean)
    return rows
