"""The customer-question set: its labels stay checkable and its split stays fixed."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from knowledge.config import SAMPLE_ARTICLES
from knowledge.eval.dataset import (
    CUSTOMER_QUESTIONS,
    EvalQuestion,
    load_questions,
    load_siblings,
    part_for,
    part_of,
)


@pytest.fixture(scope="module")
def questions() -> list[EvalQuestion]:
    return load_questions()


def _article_text(slug: str) -> str:
    # A quote of the passage loses the Markdown emphasis and code marks, so do the facts.
    return re.sub(r"\*\*|`", "", (Path(SAMPLE_ARTICLES) / f"{slug}.md").read_text(encoding="utf-8")).lower()


def test_the_set_has_the_promised_shape(questions):
    english = [q for q in questions if q.lang == "en"]
    kinds = Counter(q.kind for q in english)
    assert len(english) >= 300
    assert kinds["near_miss"] >= 60 and kinds["off_topic"] >= 20
    assert sum(1 for q in english if q.history) >= 30
    by_lang = Counter(q.lang for q in questions if q.lang != "en")
    assert sum(by_lang.values()) >= 40 and all(by_lang[lang] >= 10 for lang in ("es", "de", "fr", "pt"))
    assert all(q.kind in {"answerable", "near_miss", "handoff"} for q in questions if q.lang != "en")


def _assert_labels_hold(questions: list[EvalQuestion]) -> None:
    for question in questions:
        if question.kind != "answerable":
            assert question.article is None and not question.facts, question.id
            continue
        text = _article_text(question.article)
        for fact in question.facts:
            assert fact.lower() in text, f"{question.id}: {fact!r} is not in {question.article}"


def test_every_label_points_at_a_real_article_and_every_fact_is_quoted_from_it(questions):
    _assert_labels_hold(questions)


def test_sibling_pairs_have_questions_on_both_sides(questions):
    for pair in load_siblings():
        sides = Counter(q.article for q in questions if q.pair == pair.name and q.kind == "answerable")
        assert all(sides[article] >= 1 for article in pair.articles), (pair.name, dict(sides))
        for question in questions:
            if question.pair == pair.name and question.kind == "answerable":
                assert question.article in pair.articles, question.id


def test_the_split_is_the_documented_hash_rule():
    # Pinned parts: sha256("\n".join(history + [q])) % 3 == 0 -> test. If these change, the
    # rule changed and every number measured on the test part so far is void.
    assert part_for("refund??") == "tune"
    assert part_for("cancel my spotify subscription") == "test"
    assert part_for("¿Cuánto cuesta el envío a España?") == "tune"
    # the earlier turns are part of the key: the same words after a first turn may move
    assert part_for("what about to canada?") == "test"
    assert part_for("what about to canada?", ("how much is shipping",)) == "tune"
    assert part_for("x", ["a", "b"]) == part_for("x", ("a", "b"))


def test_the_split_is_stable_and_about_a_third_is_test(questions, tmp_path):
    again = load_questions(CUSTOMER_QUESTIONS)
    assert [(q.id, q.part) for q in questions] == [(q.id, q.part) for q in again]
    assert all(q.part == part_of(q) for q in questions)
    share = sum(q.part == "test" for q in questions) / len(questions)
    assert 0.25 < share < 0.42
    # a question's part depends on its own text only: reordering the file changes nothing
    text = CUSTOMER_QUESTIONS.read_text(encoding="utf-8")
    head, body = text.split("\nquestions:\n", 1)
    entries = [line for line in body.splitlines() if line.startswith("  - {")]
    shuffled = tmp_path / "shuffled.yml"
    shuffled.write_text(head + "\nquestions:\n" + "\n".join(reversed(entries)) + "\n", encoding="utf-8")
    reordered = {q.id: q.part for q in load_questions(shuffled)}
    assert reordered == {q.id: q.part for q in questions}


def test_a_malformed_question_is_refused(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "siblings: []\nquestions:\n  - {id: x-1, q: 'refund?', article: return-policy}\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="needs at least one fact"):
        load_questions(bad)
    bad.write_text(
        "siblings: []\nquestions:\n"
        "  - {id: x-1, q: 'a', article: null, kind: near_miss}\n"
        "  - {id: x-1, q: 'b', article: null, kind: near_miss}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="duplicate"):
        load_questions(bad)


def test_development_questions_are_checkable_and_never_in_the_test_part(questions):
    """Tuning-only batches: their labels hold, and none of them repeats a labelled question."""
    from knowledge.eval.dataset import DEVELOPMENT_QUESTIONS

    development = load_questions(DEVELOPMENT_QUESTIONS)
    english = [q for q in development if q.lang == "en"]
    assert len(english) >= 800 and sum(q.kind == "off_topic" for q in english) >= 50
    _assert_labels_hold(development)
    labelled = {(q.q.strip().lower(), q.history) for q in questions}
    assert not [q.id for q in development if (q.q.strip().lower(), q.history) in labelled]
