"""SMS: plain text kept inside a segment budget, in GSM-7 whenever the text allows.

One SMS segment carries 153 GSM-7 characters (67 in UCS-2 once a single character falls
outside GSM-7), and carriers bill and may reorder per segment, so a reply is cut at a
sentence end to stay within budget rather than sprawling over many segments.
"""

from __future__ import annotations

import math
import os
import re

from actions.render import markup as md
from actions.render.base import SEE_ALSO, RenderedMessage
from contract import TWILIO_BODY_LIMIT, sms_part
from knowledge.documents import Answer, Source

MAX_CHARS = TWILIO_BODY_LIMIT
DEFAULT_SEGMENTS = 3
# Digits, never YES/NO: YES (like START, STOP, HELP...) is a carrier keyword that the
# carrier or Twilio answers itself; connectors/sms maps 1/2 (and Y/N) to the verdict.
FEEDBACK_PROMPT = "Reply 1 if this helped, 2 if not."
# An answer that leaves out part of what the REST-budget answer says (`Answer.more`) offers
# the rest, in the same line as the feedback digits; MORE is no carrier keyword either
# (connectors/twilio/keywords.py maps it, and MAS, MEHR, SUITE, MAIS, to `/more`).
# 52 characters: knowledge/budget.py's SMS arithmetic counts on it ("for the full answer"
# pushed a body's last sentence out of 3 segments in 2 of 233 offers measured there).
MORE_PROMPT = "Reply MORE for the rest, 1 if this helped, 2 if not."
MORE_ONLY_PROMPT = "Reply MORE for the rest."
# The reply to MORE: the REST-budget answer in one longer message, at most this many
# segments (never above Twilio's 1,600-character body).
DEFAULT_MORE_SEGMENTS = 8


def more_segments() -> int:
    """`SMS_MORE_SEGMENTS` (default 8), never fewer than an answer's own budget."""
    raw = os.environ.get("SMS_MORE_SEGMENTS", "") or DEFAULT_MORE_SEGMENTS
    return max(int(raw), int(os.environ.get("SMS_MAX_SEGMENTS", DEFAULT_SEGMENTS) or DEFAULT_SEGMENTS))


def prompt_for(more: bool, feedback: bool) -> str:
    """The last line of an answer: the MORE offer and/or the feedback digits."""
    if more:
        return MORE_PROMPT if feedback else MORE_ONLY_PROMPT
    return FEEDBACK_PROMPT if feedback else ""


GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")  # sent as escape + character: two septets each

_NORMALISE = {
    **dict.fromkeys("‘’‚‛′´`", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    "…": "...",
    **dict.fromkeys("\u00a0\u2002\u2003\u2009\u202f\t", " "),
    **dict.fromkeys("•◦▪·", "-"),
    **dict.fromkeys("\u200b\u200c\u200d\ufeff", ""),
}
_NORMALISE_TABLE = str.maketrans(_NORMALISE)


def normalise(text: str) -> str:
    """Typographic characters to their GSM-7 look-alikes, so one curly quote does not
    switch the whole message to UCS-2 and cut its capacity by more than half."""
    return text.translate(_NORMALISE_TABLE)


def is_gsm7(text: str) -> bool:
    return all(char in GSM_BASIC or char in GSM_EXTENDED for char in text)


def encoding(text: str) -> str:
    return "GSM-7" if is_gsm7(text) else "UCS-2"


def segments(text: str) -> int:
    """Segments a carrier needs for `text` (an escape or surrogate pair never straddles two)."""
    if is_gsm7(text):
        units = [2 if char in GSM_EXTENDED else 1 for char in text]
        single, multi = 160, 153
    else:
        units = [len(char.encode("utf-16-le")) // 2 for char in text]
        single, multi = 70, 67
    if sum(units) <= single:
        return 1 if text else 0
    count, used = 1, 0
    for size in units:
        if used + size > multi:
            count += 1
            used = 0
        used += size
    return count


def compact_url(url: str) -> str:
    """Phones link `example.com/x` as well as `https://www.example.com/x/`."""
    return re.sub(r"^https?://(www\.)?", "", url).rstrip("/")


def short_url(source: Source, link_base: str = "") -> str:
    if not source.url:
        return ""
    if link_base:
        return f"{link_base.rstrip('/')}/{source.article_id}"
    return compact_url(source.url)


_SENTENCE_END = re.compile(r"[.!?]+[\"')]*(?:\s*\[\d+\])*(?=\s)|\n")
_CITED = re.compile(r"\[(\d+)\]")


class SmsRenderer:
    def __init__(
        self, max_segments: int | None = None, link_base: str | None = None, feedback_prompt: bool = True
    ) -> None:
        self.max_segments = max_segments or int(os.environ.get("SMS_MAX_SEGMENTS", DEFAULT_SEGMENTS))
        self.link_base = os.environ.get("SMS_LINK_BASE", "") if link_base is None else link_base
        self.feedback_prompt = feedback_prompt

    def fits(self, text: str) -> bool:
        return len(text) <= MAX_CHARS and segments(text) <= self.max_segments

    def render(self, answer: Answer, feedback_ref: str | None = None) -> list[RenderedMessage]:
        body = normalise(plain_body(answer.text))
        prompt = prompt_for(answer.more, bool(feedback_ref and self.feedback_prompt))
        text = self._fit(body, answer.sources, prompt)
        return [RenderedMessage(json_message=sms_part(self._with_see_also(text, answer.see_also, prompt)))]

    def _with_see_also(self, text: str, see_also: list[Source], prompt: str) -> str:
        """The "See also" links in whatever room the answer left: the answer comes first."""
        head = text[: -len(prompt)].rstrip("\n") if prompt and text.endswith(prompt) else text
        tail = prompt if head is not text else ""
        links = []
        for source in see_also:
            where = short_url(source, self.link_base) or normalise(source.title)
            candidate = "\n".join(p for p in (head, f"{SEE_ALSO}: " + ", ".join([*links, where]), tail) if p)
            if not self.fits(candidate):
                break
            links.append(where)
        if not links:
            return text
        return "\n".join(p for p in (head, f"{SEE_ALSO}: " + ", ".join(links), tail) if p)

    def _compose(self, body: str, sources: list[Source], prompt: str, cited: set[int] | None = None) -> str:
        """Body, then the cited articles' links, then the feedback prompt.

        `cited` is what the whole answer cites: a body cut short (an extractive answer
        cites its section once, at the end) still links the article with the rest.
        """
        cited = {int(n) for n in _CITED.findall(body)} if cited is None else cited
        lines = []
        for source in sources:
            if source.number in cited:
                where = short_url(source, self.link_base) or normalise(source.title)
                lines.append(f"[{source.number}] {where}")
        parts = [body.strip()]
        if lines:
            parts.append("\n".join(lines))
        if prompt:
            parts.append(prompt)
        return "\n".join(part for part in parts if part)

    def _fit(self, body: str, sources: list[Source], prompt: str) -> str:
        text = self._compose(body, sources, prompt)
        if self.fits(text):
            return text
        # Whole sentences from the start, as many as fit with their sources.
        cited = {int(n) for n in _CITED.findall(body)}
        ends = [m.end() for m in _SENTENCE_END.finditer(body)]
        best = ""
        for end in ends:
            candidate = self._compose(body[:end], sources, prompt, cited)
            if not self.fits(candidate):
                break
            best = candidate
        if best:
            return best
        # Not even the first sentence fits: shorten it at a word (keeping its citations),
        # and drop the feedback prompt if that is still not enough.
        first = body[: ends[0]] if ends else body
        markers = "".join(f"[{n}]" for n in dict.fromkeys(_CITED.findall(first)))
        words = _CITED.sub("", first).rstrip()
        for keep_prompt in (prompt, ""):

            def shortened(size: int) -> str:
                head, _ = md.split_text(words, size)
                return f"{head}... {markers}".rstrip()

            low, high = 0, len(words)
            while low < high:
                mid = (low + high + 1) // 2
                if self.fits(self._compose(shortened(mid), sources, keep_prompt)):
                    low = mid
                else:
                    high = mid - 1
            if low:
                return self._compose(shortened(low), sources, keep_prompt)
        text = self._compose(body, [], "")
        while text and not self.fits(text):
            text = text[: math.floor(len(text) * 0.9)]
        return text


def plain_body(markdown: str) -> str:
    lines: list[str] = []
    for block in md.without_tables(md.parse(markdown).blocks):
        if isinstance(block, md.CodeBlock):
            lines.append(block.text)
        elif isinstance(block, md.ListItem):
            bullet = "  " * block.depth + (block.marker or "-") + " "
            lines.append(bullet + md.plain(block.inlines, show_url=compact_url))
        else:
            lines.append(md.plain(block.inlines, show_url=compact_url))
    return "\n".join(line.rstrip() for line in lines)


SMS_SUGGESTIONS_INTRO = "Not sure I have the exact answer. These may help:"
SMS_SUGGESTIONS_OUTRO = "Reply HUMAN to reach a person."


def render_suggestions(
    answer: Answer, max_segments: int | None = None, link_base: str | None = None
) -> list[RenderedMessage]:
    """Titles and short links, as many articles as fit the segment budget (at least one)."""
    budget = SmsRenderer(max_segments=max_segments, link_base=link_base)
    lines: list[str] = []
    for source in answer.suggestions:
        where = short_url(source, budget.link_base)
        line = normalise(f"- {source.title}" + (f": {where}" if where else ""))
        text = "\n".join([SMS_SUGGESTIONS_INTRO, *lines, line, SMS_SUGGESTIONS_OUTRO])
        if lines and not budget.fits(text):
            break
        lines.append(line)
    text = "\n".join([SMS_SUGGESTIONS_INTRO, *lines, SMS_SUGGESTIONS_OUTRO])
    return [RenderedMessage(json_message={"sms": {"text": text}})]
