"""Build the chat messages sent to the model from a replaceable Jinja2 template.

Support teams tune tone and rules without touching code by pointing `KB_PROMPT_TEMPLATE`
at their own file; the variables it receives are part of the public interface:
`passages`, `conversation`, `channel`, `language`, `company`, `length_hint`, `max_chars`
(the channel's character budget, `knowledge.budget`).
The customer's words go in a separate, delimited user message so the template's rules
and the untrusted text never blend.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from knowledge.budget import budget_for
from knowledge.documents import Passage

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_TEMPLATE = TEMPLATES / "answer.j2"
STANDALONE_TEMPLATE = TEMPLATES / "standalone.j2"
NO_ANSWER = "NO_ANSWER"
# A rewrite longer than this is not a question: the model answered or rambled.
MAX_STANDALONE_CHARS = 300


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


# Said of the business when neither KB_COMPANY_NAME nor the articles name it.
GENERIC_COMPANY = "this company"
_SENTENCES = re.compile(r"(?<=[.!?:])\s+|\n+")
_WORDS = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def company_in(texts: Iterable[str]) -> str:
    """The name a help centre's articles use most inside their sentences ("Nimbus").

    Help articles name their own business and products far more often than anything else
    ("open the Nimbus app", "your Nimbus account"); a sentence's or a line's first word
    ("Tap", "Select") and an all-capitals acronym ("HTTPS") are not counted. The model
    needs the name to tell a question about this business from one about another
    company's product.
    """
    counts: Counter[str] = Counter()
    for text in texts:
        for sentence in _SENTENCES.split(text or ""):
            words = _WORDS.findall(sentence)
            counts.update(w for w in words[1:] if w[0].isupper() and not w.isupper())
    return counts.most_common(1)[0][0] if counts else GENERIC_COMPANY


def build_messages(
    question: str,
    passages: Sequence[Passage],
    conversation: Sequence[Turn] = (),
    channel: str = "rest",
    language: str = "",
    template: jinja2.Template | None = None,
    company: str = GENERIC_COMPANY,
    max_chars: int | None = None,
    restated: str = "",
) -> list[dict[str, str]]:
    """`restated` is the question as searched (standalone, in English) when it differs
    from the customer's words: the model sees both, and answers the customer."""
    template = template or load_template()
    max_chars = max_chars or budget_for(channel)
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
    if restated and restated.strip() != question.strip():
        user += f"\n<restated_question>\n{_neutralise(restated)}\n</restated_question>"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def build_standalone_messages(
    question: str, conversation: Sequence[Turn] = (), company: str = GENERIC_COMPANY
) -> list[dict[str, str]]:
    """Ask the model for the question as a standalone English question (for search)."""
    system = load_template(STANDALONE_TEMPLATE).render(
        conversation=[Turn(t.role, _neutralise(t.text)) for t in conversation], company=company
    )
    user = f"<customer_question>\n{_neutralise(question)}\n</customer_question>"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def clean_standalone(raw: str) -> str | None:
    """The model's rewrite as a search query, or None when it is not usable."""
    text = raw.strip().strip('"').strip()
    if not text or NO_ANSWER in text or len(text) > MAX_STANDALONE_CHARS or "\n" in text:
        return None
    return text
