"""Markdown text plus a structured payload: for the REST channel, web widgets and any
channel without a renderer of its own.

The text shows a table as one bullet per row (many chat widgets print Markdown tables
as pipes); the structured payload's `answer` keeps the Markdown table for a client that
renders it.
"""

from __future__ import annotations

from actions.render.base import SEE_ALSO, SUGGESTIONS_INTRO, SUGGESTIONS_OUTRO, RenderedMessage, source_label
from knowledge.answer.structure import tables_as_rows
from knowledge.documents import Answer


def sources_markdown(answer: Answer) -> str:
    lines = []
    for source in answer.sources:
        label = source_label(source)
        lines.append(f"{label} - {source.url}" if source.url else label)
    return "\n".join(lines)


def structured(answer: Answer, feedback_ref: str | None = None) -> dict:
    payload = {
        "type": "knowledge_answer",
        "answer": answer.text,
        "method": answer.method,
        "citations": [
            {"number": s.number, "title": s.title, "url": s.url, "article_id": s.article_id, "page": s.page}
            for s in answer.sources
        ],
    }
    if answer.see_also:
        payload["see_also"] = [
            {"title": s.title, "url": s.url, "article_id": s.article_id} for s in answer.see_also
        ]
    if feedback_ref:
        # Web widgets send `/feedback_helpful{"ref": ...}` back with this reference.
        payload["feedback_ref"] = feedback_ref
    return payload


class MarkdownRenderer:
    def render(self, answer: Answer, feedback_ref: str | None = None) -> list[RenderedMessage]:
        text = tables_as_rows(answer.text).rstrip()
        if answer.sources:
            text += "\n\nSources:\n" + sources_markdown(answer)
        if answer.see_also:
            text += f"\n\n{SEE_ALSO}:\n" + "\n".join(
                f"- [{s.title}]({s.url})" if s.url else f"- {s.title}" for s in answer.see_also
            )
        return [RenderedMessage(text=text, json_message=structured(answer, feedback_ref))]


def render_suggestions(answer: Answer) -> list[RenderedMessage]:
    """The nearest articles as a Markdown list, plus the same list as structured data."""
    lines = [SUGGESTIONS_INTRO]
    for source in answer.suggestions:
        lines.append(f"- [{source.title}]({source.url})" if source.url else f"- {source.title}")
    lines.append("")
    lines.append(SUGGESTIONS_OUTRO)
    payload = {
        "type": "knowledge_suggestions",
        "text": SUGGESTIONS_INTRO,
        "articles": [
            {"title": s.title, "url": s.url, "article_id": s.article_id} for s in answer.suggestions
        ],
    }
    return [RenderedMessage(text="\n".join(lines), json_message=payload)]
