"""WhatsApp (through Twilio): WhatsApp's own formatting (*bold*, _italic_, ~strike~,
```code```, plain lists), citations as [n] with the links in a Sources list (WhatsApp
links bare URLs itself; it has no link syntax and no HTML). The connector splits the
text at Twilio's 1,600 characters (contract.limits.TWILIO_BODY_LIMIT)."""

from __future__ import annotations

from actions.render import markup as md
from actions.render.base import (
    SEE_ALSO,
    SUGGESTIONS_INTRO,
    SUGGESTIONS_OUTRO,
    RenderedMessage,
    source_label,
    sources_by_number,
)
from contract import whatsapp_part
from knowledge.documents import Answer

_MARKS = {"strong": "*", "em": "_", "strike": "~"}
FEEDBACK_PROMPT = "Reply 1 if this helped, 2 if not."


class _WhatsAppWriter(md.InlineWriter):
    def code(self, text: str) -> str:
        return f"`{text}`"

    def link_text(self, url: str, label: str) -> str:
        return label if label.startswith("[") else f"{label} ({url})"

    def link(self, url: str, children: tuple) -> str:
        label = self.write(children)
        return url if md.plain(children) == url else f"{label} ({url})"

    def wrap(self, kind: str, inner: str) -> str:
        mark = _MARKS[kind]
        return f"{mark}{inner}{mark}" if inner.strip() else inner


class WhatsAppRenderer:
    def render(self, answer: Answer, feedback_ref: str | None = None) -> list[RenderedMessage]:
        inline = _WhatsAppWriter(sources_by_number(answer)).write
        lines: list[str] = []
        previous = None
        for block in md.without_tables(md.parse(answer.text).blocks):
            if isinstance(block, md.CodeBlock):
                text = f"```{block.text}```"
            elif isinstance(block, md.ListItem):
                text = "  " * block.depth + (block.marker or "-") + " " + inline(block.inlines)
            elif isinstance(block, md.Heading):
                text = f"*{md.plain(block.inlines)}*"
            elif isinstance(block, md.Quote):
                text = "> " + inline(block.inlines)
            else:
                text = inline(block.inlines)
            together = isinstance(block, md.ListItem) and isinstance(previous, md.ListItem)
            lines.append(("\n" if together else "\n\n") + text if lines else text)
            previous = block
        if answer.sources:
            lines.append("\n\n*Sources*")
            for source in answer.sources:
                label = source_label(source)
                lines.append(f"\n{label}: {source.url}" if source.url else f"\n{label}")
        if answer.see_also:
            lines.append(f"\n\n*{SEE_ALSO}*")
            lines += [f"\n{s.title}: {s.url}" if s.url else f"\n{s.title}" for s in answer.see_also]
        if feedback_ref:
            lines.append("\n\n" + FEEDBACK_PROMPT)
        return [RenderedMessage(json_message=whatsapp_part("".join(lines)))]


def render_suggestions(answer: Answer) -> list[RenderedMessage]:
    """The nearest articles as a plain list with bare links (WhatsApp previews the first)."""
    lines = [SUGGESTIONS_INTRO]
    for source in answer.suggestions:
        lines.append(f"- {source.title}: {source.url}" if source.url else f"- {source.title}")
    return [RenderedMessage(json_message=whatsapp_part("\n".join([*lines, "", SUGGESTIONS_OUTRO])))]
