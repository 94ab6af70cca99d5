"""Build the chat messages sent to the model from a replaceable Jinja2 template.

Support teams tune tone and rules without touching code by pointing `KB_PROMPT_TEMPLATE`
at their own file; the variables it receives are part of the public interface:
`passages`, `conversation`, `channel`, `language`, `company`, `length_hint`, `max_chars`.
The customer's words go in a separate, delimited user message so the template's rules
and the untrusted text never blend.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from knowledge.documents import Passage

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_TEMPLATE = TEMPLATES / "answer.j2"
NO_ANSWER = "NO_ANSWER"


@dataclass(frozen=True)
class Turn:
    role: str  # "customer" or "assistant"
    text: str


def load_template(path: str | os.PathLike | None = None) -> jinja2.Template:
    source = Path(path) if path else DEFAULT_TEMPLATE
    if not source.is_file():
        raise FileNotFoundError(f"prompt template not found: {source}")
    env = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
    return env.from_string(source.read_text(encoding="utf-8"))


def _neutralise(text: str) -> str:
    """Stop untrusted text from closing our delimiters and posing as instructions."""
    return (
        text.replace("</passage", "</ passage")
        .replace("<passage", "< passage")
        .replace("</customer_question", "</ customer_question")
        .replace("</conversation", "</ conversation")
    )


def build_messages(
    question: str,
    passages: Sequence[Passage],
    conversation: Sequence[Turn] = (),
    channel: str = "rest",
    language: str = "",
    template: jinja2.Template | None = None,
    company: str = "Nimbus Home",
    max_chars: int = 450,
) -> list[dict[str, str]]:
    template = template or load_template()
    safe_passages = [
        Passage(**{**p.__dict__, "text": _neutralise(p.text), "title": _neutralise(p.title)})
        for p in passages
    ]
    system = template.render(
        passages=safe_passages,
        conversation=[Turn(t.role, _neutralise(t.text)) for t in conversation],
        channel=channel,
        language=language or "the same language as the customer's question",
        company=company,
        length_hint="two or three sentences, or a short numbered list for steps."
        if channel != "sms"
        else "one or two short sentences.",
        max_chars=max_chars,
    )
    user = f"<customer_question>\n{_neutralise(question)}\n</customer_question>"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
