"""Slack: mrkdwn in Block Kit sections, linked citations, a Sources context block and
feedback buttons; the connector posts the `slack` payload with `chat.postMessage`.

The blocks are slack_sdk's typed models, serialised with `to_dict()`, which checks
Slack's own limits (a section's 3,000 characters, a button's value, a table's 20 columns)
and raises instead of letting Slack refuse the whole message.

A table becomes Block Kit's native table block (rich-text cells, so citations and links
stay clickable); Slack allows one per message, so any further table reads as rows."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    RawTextObject,
    RichTextBlock,
    RichTextElementParts,
    RichTextSectionElement,
    SectionBlock,
    TableBlock,
    TableBlockColumnSettings,
)

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
from contract import SLACK_MAX_BLOCKS, slack_part
from knowledge.documents import Answer

SECTION_LIMIT = 2900  # Slack rejects section text of 3,000 characters or more
CONTEXT_ELEMENT_LIMIT = 1900  # context elements are limited to 2,000 characters
MAX_BLOCKS = SLACK_MAX_BLOCKS
MAX_CONTEXT_ELEMENTS = 10
FALLBACK_LIMIT = 3000
BULLETS = ("•", "◦", "▪")


def escape(text: str) -> str:
    """Slack decodes exactly these three entities; anything else shows as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_target(url: str) -> str:
    # `|` ends the URL part of `<url|label>`, so it has to be percent-encoded.
    return escape(url.replace("|", "%7C").replace(" ", "%20"))


def link(url: str, label: str) -> str:
    return f"<{link_target(url)}|{escape(label).replace('|', '¦')}>"


def _wrap(marker: str, inner: str) -> str:
    """Slack only formats markers that touch the words, so spaces go outside."""
    stripped = inner.strip()
    if not stripped:
        return inner
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    return f"{lead}{marker}{stripped}{marker}{trail}"


_MARKERS = {"strong": "*", "em": "_", "strike": "~"}


class _MrkdwnWriter(md.InlineWriter):
    def text(self, text: str) -> str:
        return escape(text)

    def code(self, text: str) -> str:
        return f"`{escape(text.replace('`', 'ʼ'))}`"

    def link_text(self, url: str, label: str) -> str:
        return link(url, label)

    def wrap(self, kind: str, inner: str) -> str:
        return _wrap(_MARKERS[kind], inner)


class SlackRenderer:
    def render(self, answer: Answer, feedback_ref: str | None = None) -> list[RenderedMessage]:
        sources = sources_by_number(answer)

        inline = _MrkdwnWriter(sources).write

        def prefix(block) -> str:
            if isinstance(block, md.ListItem):
                bullet = block.marker or BULLETS[block.depth % len(BULLETS)]
                return "    " * block.depth + bullet + " "
            return "> " if isinstance(block, md.Quote) else ""

        def block_texts(block) -> list[str]:
            """One block as mrkdwn pieces, each short enough for a section."""
            if isinstance(block, md.CodeBlock):
                return _code_chunks(block.text)
            lead = prefix(block)
            inlines = block.inlines
            if isinstance(block, md.Heading):
                inlines = (md.Strong(inlines),)

            def render(pieces: tuple) -> str:
                text = lead + inline(pieces)
                return text.replace("\n", "\n> ") if isinstance(block, md.Quote) else text

            size = lambda pieces: len(render(pieces))  # noqa: E731
            return [render(run) for run in md.split_inlines(inlines, size, SECTION_LIMIT)]

        doc = md.parse(answer.text)
        # Slack shows one table per message: the first table is a native table block,
        # any other one reads as rows.
        first_table = next((b for b in doc.blocks if isinstance(b, md.Table)), None)
        entries: list = []  # mrkdwn section texts, and the table block in its place
        current = ""
        previous = None
        for block in doc.blocks:
            if block is first_table:
                if current:
                    entries.append(current)
                    current = ""
                entries.append(table_block(block, sources))
                previous = block
                continue
            parts = block.rows() if isinstance(block, md.Table) else [block]
            for part in parts:
                joiner = (
                    "\n" if isinstance(part, md.ListItem) and isinstance(previous, md.ListItem) else "\n\n"
                )
                for piece in block_texts(part):
                    if current and len(current) + len(joiner) + len(piece) <= SECTION_LIMIT:
                        current += joiner + piece
                    else:
                        if current:
                            entries.append(current)
                        current = piece
                    joiner = "\n"
                previous = part
        if current:
            entries.append(current)

        room = MAX_BLOCKS - (1 if answer.sources else 0) - (1 if feedback_ref else 0)
        if len(entries) > room:
            entries = entries[:room]
            if isinstance(entries[-1], str):
                entries[-1] = entries[-1][: SECTION_LIMIT - 40].rstrip() + " … _(answer shortened)_"
        blocks: list[Block] = [
            SectionBlock(text=MarkdownTextObject(text=entry)) if isinstance(entry, str) else entry
            for entry in entries
        ]
        if answer.sources:
            blocks.append(ContextBlock(elements=self.source_elements(answer)))
        if feedback_ref:
            blocks.append(feedback_block(feedback_ref))
        return [RenderedMessage(json_message=slack_part(fallback_text(answer, doc), _dicts(blocks)))]

    @staticmethod
    def source_elements(answer: Answer) -> list[MarkdownTextObject]:
        lines = ["*Sources*"]
        for source in answer.sources:
            label = source_label(source)
            lines.append(link(source.url, label) if source.url else escape(label))
        if answer.see_also:
            lines.append(f"*{SEE_ALSO}*")
            lines += [link(s.url, s.title) if s.url else escape(s.title) for s in answer.see_also]
        elements: list[str] = []
        for line in lines:
            if elements and len(elements[-1]) + 1 + len(line) <= CONTEXT_ELEMENT_LIMIT:
                elements[-1] += "\n" + line
            else:
                elements.append(line[:CONTEXT_ELEMENT_LIMIT])
        return [MarkdownTextObject(text=text) for text in elements[:MAX_CONTEXT_ELEMENTS]]


def _dicts(blocks: list[Block]) -> list[dict]:
    """The payload's blocks; `to_dict` validates each against Slack's limits."""
    return [block.to_dict() for block in blocks]


TABLE_MAX_ROWS = 100  # header included
TABLE_MAX_COLUMNS = 20
CELL_LIMIT = 1900  # characters of text in one cell (Slack allows about 2,000)


Part = RichTextElementParts


def _rich_elements(pieces: tuple, sources: dict, style: dict | None = None) -> list:
    """Inline pieces as rich-text elements: table cells take rich text, not mrkdwn."""
    out: list = []
    for piece in pieces:
        if isinstance(piece, md.Text):
            out.append(Part.Text(text=piece.text, style=style or None))
        elif isinstance(piece, md.CodeSpan):
            out.append(Part.Text(text=piece.text, style={**(style or {}), "code": True}))
        elif isinstance(piece, md.Cite):
            source = sources.get(piece.number)
            label = f"[{piece.number}]"
            out.append(
                Part.Link(url=source.url, text=label) if source and source.url else Part.Text(text=label)
            )
        elif isinstance(piece, md.Link):
            out.append(Part.Link(url=piece.url, text=md.plain(piece.children)))
        else:
            kind = {"Strong": "bold", "Em": "italic", "Strike": "strike"}[type(piece).__name__]
            out.extend(_rich_elements(piece.children, sources, {**(style or {}), kind: True}))
    return out


def _rich_text(elements: list) -> RichTextBlock:
    return RichTextBlock(elements=[RichTextSectionElement(elements=elements)])


def _cell(text: str, sources: dict) -> RawTextObject | RichTextBlock:
    pieces = md.parse_inline(text[:CELL_LIMIT])
    if all(isinstance(p, md.Text) for p in pieces):
        return RawTextObject(text=md.plain(pieces) or " ")
    return _rich_text(_rich_elements(pieces, sources))


def table_block(table: md.Table, sources: dict) -> TableBlock:
    """A Block Kit table: the header row first (bold), then the body rows."""
    columns = len(table.header[:TABLE_MAX_COLUMNS])
    header = [
        _rich_text([Part.Text(text=md.plain(md.parse_inline(h)) or " ", style={"bold": True})])
        for h in table.header[:columns]
    ]
    body = [[_cell(c, sources) for c in row[:columns]] for row in table.body[: TABLE_MAX_ROWS - 1]]
    return TableBlock(
        rows=[header, *body], column_settings=[TableBlockColumnSettings(is_wrapped=True)] * columns
    )


def _code_chunks(code: str) -> list[str]:
    fence = "```"
    budget = SECTION_LIMIT - 2 * len(fence) - 2
    chunks: list[str] = []
    current: list[str] = []
    for line in escape(code).split("\n"):
        while len(line) > budget:  # one enormous line: hard-wrap it
            chunks.append(line[:budget])
            line = line[budget:]
        if current and len("\n".join(current + [line])) > budget:
            chunks.append("\n".join(current))
            current = []
        current.append(line)
    if current or not chunks:
        chunks.append("\n".join(current))
    return [f"{fence}\n{chunk}\n{fence}" for chunk in chunks]


def fallback_text(answer: Answer, doc: md.Document | None = None) -> str:
    """What notifications and screen readers show: the answer without formatting."""
    doc = doc or md.parse(answer.text)
    lines: list[str] = []
    for block in md.without_tables(doc.blocks):
        if isinstance(block, md.CodeBlock):
            lines.append(block.text)
        elif isinstance(block, md.ListItem):
            lines.append("  " * block.depth + (block.marker or "•") + " " + md.plain(block.inlines))
        else:
            lines.append(md.plain(block.inlines))
    text, rest = md.split_text("\n".join(lines), FALLBACK_LIMIT)
    return escape(text + (" …" if rest else ""))


def feedback_block(ref: str) -> ActionsBlock:
    def button(action_id: str, label: str, value: str) -> ButtonElement:
        return ButtonElement(action_id=action_id, text=PlainTextObject(text=label, emoji=True), value=value)

    return ActionsBlock(
        block_id=f"feedback:{ref}",
        elements=[
            button(HELPFUL_INTENT, "👍 Helpful", feedback_payload(HELPFUL_INTENT, ref)),
            button(UNHELPFUL_INTENT, "👎 Not helpful", feedback_payload(UNHELPFUL_INTENT, ref)),
            button("request_human", "🙋 Talk to a person", HUMAN_PAYLOAD),
        ],
    )


def render_suggestions(answer: Answer) -> list[RenderedMessage]:
    """A short mrkdwn section with the nearest articles as links; no feedback buttons."""
    links = [
        f"{BULLETS[0]} " + (link(s.url, s.title) if s.url else escape(s.title)) for s in answer.suggestions
    ]
    text = "\n".join([escape(SUGGESTIONS_INTRO), *links])[:SECTION_LIMIT]
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ContextBlock(elements=[MarkdownTextObject(text=escape(SUGGESTIONS_OUTRO))]),
    ]
    fallback = "\n".join([SUGGESTIONS_INTRO, *(f"- {s.title}" for s in answer.suggestions)])
    return [RenderedMessage(json_message=slack_part(escape(fallback), _dicts(blocks)))]
