"""The customer-question evaluation set (`customer_questions.yml`) and its fixed split.

Pure Python + PyYAML on purpose: the Rasa environment (routing report) and the action
server environment (`kb eval`) both load it, so it may import nothing else from the project.

The split is a rule, not a list: a question's part follows from its own text, so adding a
question never moves another one, and nobody can hand-pick which questions are tested.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

CUSTOMER_QUESTIONS = Path(__file__).resolve().parent / "customer_questions.yml"
# Tuning only, never testing: batches written after the split (see the file's header).
DEVELOPMENT_QUESTIONS = Path(__file__).resolve().parent / "development_questions.yml"

KINDS = ("answerable", "near_miss", "off_topic", "handoff")
LANGS = ("en", "es", "de", "fr", "pt")
TEST_MODULUS = 3  # one question in three (by hash) is held out as the test part
Part = Literal["tune", "test"]


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    q: str
    article: str | None
    kind: str
    lang: str
    history: tuple[str, ...]
    facts: tuple[str, ...]
    pair: str | None
    part: str  # "tune" | "test", always `part_of(self)`


@dataclass(frozen=True)
class SiblingPair:
    name: str
    articles: tuple[str, ...]


def split_key(q: str, history: tuple[str, ...] | list[str] = ()) -> str:
    """What the split hashes: the earlier turns and the question, one per line."""
    return "\n".join([*history, q])


def part_for(q: str, history: tuple[str, ...] | list[str] = ()) -> Part:
    """The fixed split rule: test when sha256(history + q) is divisible by 3, else tune.

    Hashing the text (not the id or the position) means the part cannot be chosen by
    renumbering or reordering, and a reworded question is, honestly, a new question.
    """
    digest = hashlib.sha256(split_key(q, history).encode("utf-8")).hexdigest()
    return "test" if int(digest, 16) % TEST_MODULUS == 0 else "tune"


def part_of(question: EvalQuestion) -> Part:
    return part_for(question.q, question.history)


def _strings(value: object, field: str, qid: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"{qid}: `{field}` must be a list of strings")


def _question(item: object, number: int = 0) -> EvalQuestion:
    """`number`: the question's place in the file (1-based), to name one that has no id."""
    if not isinstance(item, dict):
        raise ValueError(f"question #{number} is not a mapping (id, q, article, ...): {item!r}")
    qid = str(item.get("id") or "")
    if not qid:
        raise ValueError(f"question #{number} has no id: {item!r}")
    if not isinstance(item.get("q"), str) or not item["q"].strip():
        raise ValueError(f"{qid}: question without text (`q`)")
    article = item.get("article") or None
    if article is not None and not isinstance(article, str):
        raise ValueError(f"{qid}: `article` must be an article slug or null, not {article!r}")
    kind = item.get("kind") or ("answerable" if article else "near_miss")
    lang = item.get("lang") or "en"
    if kind not in KINDS:
        raise ValueError(f"{qid}: unknown kind {kind!r}")
    if lang not in LANGS:
        raise ValueError(f"{qid}: unknown lang {lang!r}")
    if (kind == "answerable") != (article is not None):
        raise ValueError(f"{qid}: answerable questions (and only they) name an article")
    history = _strings(item.get("history"), "history", qid)
    facts = _strings(item.get("facts"), "facts", qid)
    if kind == "answerable" and not facts:
        raise ValueError(f"{qid}: an answerable question needs at least one fact")
    if kind != "answerable" and facts:
        raise ValueError(f"{qid}: only answerable questions carry facts")
    pair = item.get("pair") or None
    if pair is not None and not isinstance(pair, str):
        raise ValueError(f"{qid}: `pair` must be the name of a sibling pair")
    q = item["q"].strip()
    return EvalQuestion(
        id=qid,
        q=q,
        article=article,
        kind=kind,
        lang=lang,
        history=history,
        facts=facts,
        pair=pair,
        part=part_for(q, history),
    )


def _load(path: Path | str | None) -> dict:
    """The file's top level, or a one-line ValueError saying why it is not a questions file.

    Other teams write such files too (`kb eval --questions`), so a broken one must say
    where it is broken rather than end in a traceback.
    """
    try:
        data = yaml.safe_load(Path(path or CUSTOMER_QUESTIONS).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise ValueError("expected a mapping with a `questions:` list")
    siblings = data.get("siblings") or []
    if not isinstance(siblings, list) or not all(
        isinstance(p, dict) and p.get("name") and isinstance(p.get("articles"), list) for p in siblings
    ):
        raise ValueError("`siblings` must be a list of {name, articles: [slug, ...]}")
    return data


def load_questions(path: Path | str | None = None) -> list[EvalQuestion]:
    """All questions in file order; ids must be unique and pairs must be declared."""
    data = _load(path)
    pairs = {p["name"] for p in data.get("siblings") or []}
    questions = [_question(item, n) for n, item in enumerate(data["questions"], start=1)]
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise ValueError(f"duplicate question id {question.id}")
        seen.add(question.id)
        if question.pair is not None and question.pair not in pairs:
            raise ValueError(f"{question.id}: unknown sibling pair {question.pair!r}")
    return questions


def load_siblings(path: Path | str | None = None) -> list[SiblingPair]:
    return [
        SiblingPair(str(p["name"]), tuple(str(a) for a in p["articles"]))
        for p in _load(path).get("siblings") or []
    ]


def counts(questions: list[EvalQuestion]) -> str:
    """A plain-text table of questions per part, kind and language (for the docs and reviews)."""
    rows = []
    groups = [
        ("English answerable", lambda q: q.lang == "en" and q.kind == "answerable"),
        ("  of which follow-ups", lambda q: q.lang == "en" and q.kind == "answerable" and bool(q.history)),
        ("  of which sibling-pair", lambda q: q.lang == "en" and q.kind == "answerable" and bool(q.pair)),
        ("English near_miss", lambda q: q.lang == "en" and q.kind == "near_miss"),
        ("English off_topic", lambda q: q.lang == "en" and q.kind == "off_topic"),
        ("English handoff", lambda q: q.lang == "en" and q.kind == "handoff"),
    ]
    for lang in LANGS[1:]:
        groups.append((f"{lang} (answerable/near_miss/handoff)", lambda q, lang=lang: q.lang == lang))
    rows.append(f"{'group':40} {'tune':>5} {'test':>5} {'all':>5}")
    for name, keep in groups:
        chosen = [q for q in questions if keep(q)]
        tune = sum(q.part == "tune" for q in chosen)
        if name.startswith(tuple(LANGS[1:])):
            kinds = "/".join(str(sum(q.kind == k for q in chosen)) for k in KINDS if k != "off_topic")
            name = f"{name.split(' ')[0]} ({kinds})"
        rows.append(f"{name:40} {tune:>5} {len(chosen) - tune:>5} {len(chosen):>5}")
    tune = sum(q.part == "tune" for q in questions)
    rows.append(f"{'total':40} {tune:>5} {len(questions) - tune:>5} {len(questions):>5}")
    return "\n".join(rows)


if __name__ == "__main__":
    print(counts(load_questions()))
