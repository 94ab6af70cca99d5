"""Does an answer carry what the customer needs, and does it open like an answer?

Retrieval metrics say whether the right article was found; they cannot see an answer
that cites the right article and still leaves out the price or the time the customer
asked for. Every answerable question of the evaluation set names the fact(s) a correct
answer must contain ("$19.95", "10 minutes", "Settings > Restart"); this module checks
answers for them at a channel's budget (`knowledge.budget`), and checks mechanically how
an answer opens: never with a table's header row, a list marker with nothing after it,
or a pronoun ("this", "that", "it") whose referent was left out of the quote.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from knowledge.answer.structure import parse_blocks, strip_markup, table_cells, to_plain
from knowledge.budget import ONE_SOURCE_LINE, budget_for, extra_source_lines
from knowledge.documents import Passage

CHANNELS = ("rest", "sms")
# Not a channel of its own: SMS as the customer can read it with one more text. Facts
# count when the SMS answer has them, or when it offers MORE (`Answer.more`) and the
# REST-budget answer (what MORE sends) has them; measured whenever both channels are.
SMS_MORE = "sms + MORE"
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−"} | {c: "'" for c in "‘’ʼ"} | {c: '"' for c in "“”"})
_SPACE = re.compile(r"\s+")
_LONE_MARKER = re.compile(r"^\s*(?:[-*+•◦▪]|\d{1,3}[.)])\s*$")
_PRONOUN = re.compile(
    r"^\W*(it|its|it's|this|that|these|those|they|them|their|there|he|she|such)\b(?!\s+(?:article|page|guide))",
    re.IGNORECASE,
)
_HEADING_LINE = re.compile(r"^\*\*[^*]+\*\*$")


def normalise(text: str) -> str:
    """Case, dashes, quotes and spacing that differ between a fact and an article."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).lower()
    return _SPACE.sub(" ", text).strip()


def facts_present(answer: str, facts: Iterable[str]) -> bool:
    """All required facts appear in the answer as a customer reads it."""
    plain = normalise(to_plain(answer))
    return all(normalise(fact) in plain for fact in facts)


def _header_rows(passages: Sequence[Passage]) -> set[str]:
    rows = set()
    for passage in passages:
        lines = passage.text.split("\n")
        for i, line in enumerate(lines[:-1]):
            if line.lstrip().startswith("|") and re.match(r"^\s*\|?\s*:?-{2,}", lines[i + 1]):
                cells = [strip_markup(c) for c in table_cells(line) if c.strip()]
                if cells:
                    rows.add(normalise(", ".join(cells)))
    return rows


def opening_problem(answer: str, passages: Sequence[Passage] = ()) -> str | None:
    """Why the answer's opening does not read as an answer, or None.

    The opening is the first block after the section heading the extractive answer puts
    first (a line that is all bold). A table block opens fine: channels show it as rows.
    """
    text = answer.strip()
    first_line = text.split("\n", 1)[0].strip()
    if _HEADING_LINE.match(first_line):
        text = text[len(first_line) :].strip()
    if not text:
        return "empty"
    line = text.split("\n", 1)[0]
    if _LONE_MARKER.match(strip_markup(re.sub(r"\[\d+\]", "", line))):
        return "lone list marker"
    blocks = parse_blocks(text)
    if not blocks:
        return "empty"
    first = blocks[0]
    opening = strip_markup(re.sub(r"\s?\[\d+\]", "", first.parts()[0])).strip()
    if first.kind == "list" and len(opening.split()) == 0:
        return "lone list marker"
    if first.kind != "table":
        sentence = normalise(opening).rstrip(".:")
        if sentence and sentence in _header_rows(passages):
            return "table header row"
        if _PRONOUN.match(opening):
            return "pronoun without its referent"
    return None


@dataclass
class ChannelResult:
    channel: str
    answered: int = 0
    right_article: int = 0  # answers whose sources include the labelled article
    with_facts: int = 0  # of those, answers containing every required fact
    over_budget: int = 0
    openings: dict[str, int] = field(default_factory=dict)  # problem -> count, over all answers
    misses: list[tuple[str, str]] = field(default_factory=list)  # (question, answer) without a fact
    offers: int = 0  # `sms + MORE` row: answers that offered MORE

    @property
    def fact_rate(self) -> float:
        return self.with_facts / self.right_article if self.right_article else 0.0


def check_answers(kb, questions: Sequence, channels: Sequence[str] = CHANNELS) -> dict[str, ChannelResult]:
    """Ask every question with facts as the bot would (no model) on each channel's budget.

    `questions` need `q`, `article`, `facts` and optionally `history` (earlier customer
    turns): the evaluation set's `EvalQuestion`s.
    """
    results = {channel: ChannelResult(channel) for channel in channels}
    with_more = "rest" in channels and "sms" in channels
    if with_more:
        results[SMS_MORE] = ChannelResult(SMS_MORE)
    for question in questions:
        facts = list(getattr(question, "facts", None) or [])
        if not facts or not question.article:
            continue
        history = list(getattr(question, "history", None) or [])
        answers = {}
        for channel in channels:
            result = results[channel]
            answer = answers[channel] = kb.ask(question.q, history=history, channel=channel)
            if answer.method in ("abstain", "suggest", "pointer"):
                continue  # no answer text: "I don't know", or articles offered to read
            result.answered += 1
            problem = opening_problem(answer.text, answer.passages)
            if problem:
                result.openings[problem] = result.openings.get(problem, 0) + 1
            links = extra_source_lines(s.url for s in answer.sources) if channel in ONE_SOURCE_LINE else 0
            if len(answer.text) + links > budget_for(channel):
                result.over_budget += 1
            if question.article not in {s.article_id for s in answer.sources}:
                continue
            result.right_article += 1
            if facts_present(answer.text, facts):
                result.with_facts += 1
            else:
                result.misses.append((question.q, answer.text))
        if with_more:
            _count_with_more(results[SMS_MORE], question, answers["sms"], answers["rest"], facts)
    return results


def _count_with_more(result: ChannelResult, question, sms, rest, facts: list[str]) -> None:
    """The `sms + MORE` row: the SMS answer as counted on its own row, except that a fact
    it lacks counts when it offers MORE and the REST-budget answer carries it."""
    if sms.method in ("abstain", "suggest", "pointer"):
        return
    result.answered += 1
    result.offers += bool(sms.more)
    if question.article not in {s.article_id for s in sms.sources}:
        return
    result.right_article += 1
    if facts_present(sms.text, facts) or (sms.more and facts_present(rest.text, facts)):
        result.with_facts += 1
    else:
        result.misses.append((question.q, sms.text))


def follow_up_rate(kb, questions: Sequence) -> tuple[int, int]:
    """(right, total): follow-ups (questions with earlier turns) whose top article is the
    labelled one, searched as the bot searches them without a model."""
    right = total = 0
    for question in questions:
        history = list(getattr(question, "history", None) or [])
        if not history or not question.article or getattr(question, "lang", "en") not in ("", "en"):
            continue
        total += 1
        ranked = kb.search(question.q, history).article_ids()
        right += bool(ranked) and ranked[0] == question.article
    return right, total


# Each standalone question is also asked after the questions this many places on (in the
# part's order, skipping any about its own article): fixed, so every run asks the same pairs.
LATER_TURN_STEPS = (7, 31)


def later_turn_rate(kb, questions: Sequence) -> tuple[int, int, int]:
    """(right asked later, right asked first, total): the part's answerable English questions
    that are not follow-ups, each asked as the first message and again after an unrelated
    earlier question (`LATER_TURN_STEPS`); the first article counts.

    The set's standalone questions are otherwise only ever asked as a first message, so a
    change to how earlier turns are folded in could pull a new topic back to the old one
    unnoticed; follow-ups alone cannot show that.
    """
    chosen = [
        q
        for q in questions
        if q.article
        and getattr(q, "kind", "answerable") == "answerable"
        and not getattr(q, "history", None)
        and getattr(q, "lang", "en") in ("", "en")
    ]
    later = first = total = 0
    if len({q.article for q in chosen}) < 2:
        return later, first, total
    for i, question in enumerate(chosen):
        ranked = kb.search(question.q).article_ids()
        right_first = bool(ranked) and ranked[0] == question.article
        for step in LATER_TURN_STEPS:
            j = (i + step) % len(chosen)
            while chosen[j].article == question.article:
                j = (j + 1) % len(chosen)
            ranked = kb.search(question.q, [chosen[j].q]).article_ids()
            later += bool(ranked) and ranked[0] == question.article
            first += right_first
            total += 1
    return later, first, total


def language_rates(questions: Sequence) -> dict[str, tuple[int, int]]:
    """Per language: (detected right, total) over the set's questions in that language.

    Without a model a non-English question is answered with the nearest articles,
    introduced in the detected language, so detection decides whether the customer
    is answered in their own language.
    """
    from knowledge.language import detect

    rates: dict[str, tuple[int, int]] = {}
    for question in questions:
        lang = getattr(question, "lang", "en") or "en"
        right, total = rates.get(lang, (0, 0))
        detected = detect(question.q) or "en"
        rates[lang] = (right + (detected == lang), total + 1)
    return dict(sorted(rates.items()))


def pointer_rates(kb, questions: Sequence) -> tuple[int, int, int]:
    """(right article first, right article among those named, total) over the answerable
    non-English questions, asked as the bot asks them without a model: in their own
    language, so they get the pointer (SMS names only its first article)."""
    first = named = total = 0
    for question in questions:
        lang = getattr(question, "lang", "en") or "en"
        if lang == "en" or not question.article or getattr(question, "kind", "answerable") != "answerable":
            continue
        answer = kb.ask(question.q, list(question.history or []), language=lang)
        articles = [s.article_id for s in answer.sources]
        total += 1
        first += articles[:1] == [question.article]
        named += question.article in articles
    return first, named, total


def load_fact_questions() -> list:
    """The evaluation set's questions (knowledge/eval/dataset.py), or none before it exists."""
    try:
        from knowledge.eval.dataset import load_questions
    except ImportError:
        return []
    return list(load_questions())


def report(kb, questions: Sequence | None = None) -> str:
    """`kb eval`'s answer section: facts at the REST and SMS budgets per part of the set,
    openings, follow-ups and languages."""
    questions = load_fact_questions() if questions is None else list(questions)
    if not questions:
        return "answer check: no evaluation set with facts (knowledge/eval/dataset.py) found"
    lines: list[str] = []
    parts = sorted({getattr(q, "part", "all") or "all" for q in questions}, key=lambda p: (p != "test", p))
    for part in parts:
        # a questions file measured whole (`kb eval --questions FILE`) has one part, "all"
        name = "all questions" if part == "all" else f"{part} part"
        chosen = [q for q in questions if (getattr(q, "part", "all") or "all") == part]
        english = [q for q in chosen if (getattr(q, "lang", "en") or "en") == "en"]
        lines.append(format_results(check_answers(kb, english), f"{name} ({len(english)} English questions)"))
        right, total = follow_up_rate(kb, chosen)
        if total:
            lines.append(
                f"follow-ups ({name}, no model): right article first for {right}/{total} "
                f"({right / total:.1%})"
            )
        later, first, total = later_turn_rate(kb, chosen)
        if total:
            lines.append(
                f"later turns ({name}, no model): a standalone question asked after an unrelated "
                f"one gets its article first in {later}/{total} ({later / total:.1%}; "
                f"{first}/{total} ({first / total:.1%}) asked first)"
            )
        langs = {k: v for k, v in language_rates(chosen).items() if k != "en"}
        if langs:
            detail = ", ".join(f"{k} {r}/{t}" for k, (r, t) in langs.items())
            r_all = sum(r for r, _ in langs.values())
            t_all = sum(t for _, t in langs.values())
            lines.append(
                f"non-English ({name}): language detected (so the reply is in it) for {r_all}/{t_all} "
                f"({r_all / t_all:.1%}): {detail}"
            )
        first, named, total = pointer_rates(kb, chosen)
        if total:
            lines.append(
                f"non-English ({name}, no model): the reply names the right article first for "
                f"{first}/{total} ({first / total:.1%}), among its articles for {named}/{total} "
                f"({named / total:.1%})"
            )
        en_right, en_total = language_rates(english).get("en", (0, 0))
        if en_total:
            lines.append(f"English ({name}): not mistaken for another language in {en_right}/{en_total}")
        lines.append("")
    return "\n".join(lines).rstrip()


def format_results(results: dict[str, ChannelResult], title: str) -> str:
    lines = [
        f"answer check, {title} (extractive answers, no model; facts must all appear in the answer "
        "as the customer reads it)",
        f"{'channel':<9}{'budget':>7}{'answered':>10}{'right article':>15}{'facts present':>15}"
        f"{'over budget':>13}  openings that do not read as an answer",
    ]
    for channel, r in results.items():
        if channel == SMS_MORE:
            lines.append(
                f"{channel:<11}{'':>5}{r.answered:>10}{r.right_article:>15}"
                f"{r.with_facts:>8} ({r.fact_rate:.1%}){'':>13}  MORE offered after {r.offers} of the "
                f"{r.answered} SMS answers; facts from the REST answer only where offered"
            )
            continue
        openings = ", ".join(f"{k}: {v}" for k, v in sorted(r.openings.items())) or "none"
        lines.append(
            f"{channel:<9}{budget_for(channel):>7}{r.answered:>10}{r.right_article:>15}"
            f"{r.with_facts:>8} ({r.fact_rate:.1%}){r.over_budget:>13}  {openings}"
        )
    return "\n".join(lines)


__all__ = [
    "ChannelResult",
    "check_answers",
    "facts_present",
    "format_results",
    "later_turn_rate",
    "normalise",
    "opening_problem",
]
