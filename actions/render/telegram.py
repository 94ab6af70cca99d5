"""Telegram: HTML parse mode, linked citations, a Sources list and inline feedback
buttons, already split into messages Telegram accepts (4,096 characters).

Telegram's HTML has no tables (a `<pre>` grid wraps unreadably on a phone), so a table
arrives as one bullet per row: "Canada, UK, EU: $19.95 flat rate, 7–12 business days"."""

from __future__ import annotations

import html

from actions.render import markup as md
from actions.render.base import (
    HELPFUL_INTENT,
    HUMAN_PAYLOAD,
    SEE_ALSO,
    SUGGESTIONS_INTRO,
    SUGGESTIONS_OUTRO,
    UNHELPFUL_INTENT,
    RenderedMessage,
    feedback_payload,
    source_label,
    sources_by_number,
)
from contract import TELEGRAM_CALLBACK_DATA_BYTES, TELEGRAM_MESSAGE_LIMIT, telegram_part
from knowledge.documents import Answer

# Telegram counts 4,096 characters after entity parsing, in UTF-16 code units. Measuring
# the HTML itself (always longer than what it shows) the same way keeps every part valid
# however the connector or Telegram counts, and no connector needs to split it again.
MESSAGE_LIMIT = TELEGRAM_MESSAGE_LIMIT
CALLBACK_DATA_LIMIT = TELEGRAM_CALLBACK_DATA_BYTES
BULLETS = ("•", "◦", "▪")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def anchor(url: str, label_html: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{label_html}</a>'


_TAGS = {"strong": "b", "em": "i", "strike": "s"}


class _HtmlWriter(md.InlineWriter):
    def text(self, text: str) -> str:
        return escape(text)

    def code(self, text: str) -> str:
        return f"<code>{escape(text)}</code>"

    def link_text(self, url: str, label: str) -> str:
        return anchor(url, escape(label))

    def link(self, url: str, children: tuple) -> str:
        return anchor(url, self.write(children))

    def wrap(self, kind: str, inner: str) -> str:
        tag = _TAGS[kind]
        return f"<{tag}>{inner}</{tag}>"


class TelegramRenderer:
    def __init__(self, limit: int = MESSAGE_LIMIT) -> None:
        self.limit = limit

    def render(self, answer: Answer, feedback_ref: str | None = None) -> list[RenderedMessage]:
        sources = sources_by_number(answer)

        inline = _HtmlWriter(sources).write

        def block_html(block) -> list[str]:
            if isinstance(block, md.CodeBlock):
                return self._code(block)
            if isinstance(block, md.ListItem):
                bullet = block.marker or BULLETS[block.depth % len(BULLETS)]
                lead, open_, close = "  " * block.depth + bullet + " ", "", ""
            elif isinstance(block, md.Heading):
                lead, open_, close = "", "<b>", "</b>"
            elif isinstance(block, md.Quote):
                lead, open_, close = "", "<blockquote>", "</blockquote>"
            else:
                lead, open_, close = "", "", ""

            def render(pieces: tuple) -> str:
                return f"{lead}{open_}{inline(pieces)}{close}"

            size = lambda pieces: utf16_len(render(pieces))  # noqa: E731
            return [render(run) for run in md.split_inlines(block.inlines, size, self.limit)]

        parts: list[str] = []
        previous = None
        for block in md.without_tables(md.parse(answer.text).blocks):
            joiner = "\n" if isinstance(block, md.ListItem) and isinstance(previous, md.ListItem) else "\n\n"
            for piece in block_html(block):
                parts.append(joiner + piece if parts else piece)
                joiner = "\n"
            previous = block
        if answer.sources:
            parts.append("\n\n<b>Sources</b>")
            for source in answer.sources:
                label = escape(source_label(source))
                parts.append("\n" + (anchor(source.url, label) if source.url else label))
        if answer.see_also:
            parts.append(f"\n\n<b>{SEE_ALSO}</b>")
            for source in answer.see_also:
                label = escape(source.title)
                parts.append("\n" + (anchor(source.url, label) if source.url else label))
        messages = self._pack(parts)
        rendered = [RenderedMessage(json_message=telegram_part(text)) for text in messages]
        if feedback_ref and rendered:
            rendered[-1].json_message["telegram"]["buttons"] = feedback_buttons(feedback_ref)
        return rendered

    def _pack(self, parts: list[str]) -> list[str]:
        """Join whole pieces into messages; a piece never straddles two messages."""
        messages: list[str] = []
        current = ""
        for part in parts:
            if current and utf16_len(current + part) > self.limit:
                messages.append(current.strip())
                current = part.lstrip("\n")
            else:
                current += part
        if current.strip():
            messages.append(current.strip())
        return messages

    def _code(self, block: md.CodeBlock) -> list[str]:
        open_ = f'<pre><code class="language-{escape(block.language)}">' if block.language else "<pre>"
        close = "</code></pre>" if block.language else "</pre>"
        budget = self.limit - utf16_len(open_ + close) - 2
        chunks: list[str] = []
        current = ""
        for raw in block.text.split("\n"):
            while utf16_len(escape(raw)) > budget:  # one enormous line: hard-wrap it
                low, high = 1, len(raw)
                while low < high:
                    mid = (low + high + 1) // 2
                    low, high = (mid, high) if utf16_len(escape(raw[:mid])) <= budget else (low, mid - 1)
                chunks.append(escape(raw[:low]))
                raw = raw[low:]
            line = escape(raw)
            if current and utf16_len(current + "\n" + line) > budget:
                chunks.append(current)
                current = line
            else:
                current = f"{current}\n{line}" if current else line
        chunks.append(current)
        return [f"{open_}{chunk}{close}" for chunk in chunks]


def feedback_buttons(ref: str) -> list[list[dict]]:
    buttons = [
        [
            {"text": "👍 Helpful", "callback_data": feedback_payload(HELPFUL_INTENT, ref)},
            {"text": "👎 Not helpful", "callback_data": feedback_payload(UNHELPFUL_INTENT, ref)},
        ],
        [{"text": "🙋 Talk to a person", "callback_data": HUMAN_PAYLOAD}],
    ]
    for row in buttons:
        for button in row:
            if len(button["callback_data"].encode()) > CALLBACK_DATA_LIMIT:
                raise ValueError(f"callback_data over {CALLBACK_DATA_LIMIT} bytes: {button['callback_data']}")
    return buttons


def render_suggestions(answer: Answer) -> list[RenderedMessage]:
    """The nearest articles as linked HTML lines; no feedback buttons."""
    lines = [escape(SUGGESTIONS_INTRO)]
    for source in answer.suggestions:
        label = escape(source.title)
        lines.append(f"{BULLETS[0]} " + (anchor(source.url, label) if source.url else label))
    lines += ["", escape(SUGGESTIONS_OUTRO)]
    return [RenderedMessage(json_message={"telegram": {"html": "\n".join(lines)}})]
