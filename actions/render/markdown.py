"""Markdown text plus a structured payload: for the REST channel, web widgets and any
channel without a renderer of its own."""

from __future__ import annotations

from actions.render.base import RenderedMessage
from knowledge.documents import Answer


def sources_markdown(answer: Answer) -> str:
    lines = []
    for source in answer.sources:
        label = f"[{source.number}] {source.title}"
        if source.page:
            label += f", page {source.page}"
        lines.append(f"{label} - {source.url}" if source.url else label)
    return "\n".join(lines)


def structured(answer: Answer) -> dict:
    return {
        "type": "knowledge_answer",
        "answer": answer.text,
        "method": answer.method,
        "citations": [
            {"number": s.number, "title": s.title, "url": s.url, "article_id": s.article_id, "page": s.page}
            for s in answer.sources
        ],
    }


class MarkdownRenderer:
    def render(self, answer: Answer) -> list[RenderedMessage]:
        text = answer.text
        if answer.sources:
            text += "\n\nSources:\n" + sources_markdown(answer)
        return [RenderedMessage(text=text, json_message=structured(answer))]
