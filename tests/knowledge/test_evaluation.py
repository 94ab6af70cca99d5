"""The metric, dataset-loading and calibration code behind `kb eval` and `kb calibrate`."""

import json
from dataclasses import replace

import numpy as np
import pytest

from knowledge.calibration import (
    ABSTAIN,
    ANSWER,
    SUGGEST,
    Calibration,
    Probe,
    ProbeResult,
    best_threshold,
    fit,
    probes_from_rows,
    with_bars,
)
from knowledge.evaluation import (
    METRICS,
    PARTS,
    Metric,
    Question,
    Record,
    compute,
    format_table,
    held_out,
    load_labelled,
    load_stackfaq,
    meets,
    mrr_at,
    percentile,
    recall_at,
)


def test_recall_and_mrr_count_the_gold_article_position():
    rankings = [["a", "b", "c"], ["b", "a", "c"], ["c", "b", "x"], []]
    gold = ["a", "a", "a", "a"]
    assert recall_at(rankings, gold, 1) == 0.25
    assert recall_at(rankings, gold, 2) == 0.5
    assert mrr_at(rankings, gold, 10) == pytest.approx((1 + 0.5) / 4)
    assert mrr_at([["b", "a"]], ["a"], 1) == 0.0  # outside the cut-off counts nothing
    assert percentile([1, 2, 3, 4, 100], 50) == 3


def _record(kind, ranking, outcome, suggestions=(), article="a", **extra) -> Record:
    question = Question("q", "question?", article if kind == "answerable" else None, kind, **extra)
    return Record(question, tuple(ranking), outcome, tuple(suggestions))


def test_three_outcome_metrics_count_what_the_customer_got():
    records = [
        _record("answerable", ["a", "b"], ANSWER),  # confident and right
        _record("answerable", ["b", "a"], ANSWER),  # confident and wrong
        _record("answerable", ["b", "a"], SUGGEST, ["b", "a"]),  # right one among suggestions
        _record("answerable", ["b", "c"], ABSTAIN),
        _record("near_miss", ["a"], ANSWER),
        _record("near_miss", ["a"], SUGGEST, ["a"]),
        _record("off_topic", ["a"], ABSTAIN),
        _record("handoff", ["a"], ANSWER),  # not counted by any of these metrics
    ]
    values = {m.name: v for m, v, _ in compute(records)}
    assert values["answerable: right article first"] == 0.25
    assert values["answerable: confident + right article"] == 0.25
    assert values["answerable: confident + wrong article"] == 0.25
    assert values["answerable: right article answered or suggested"] == 0.5
    assert values["near-miss: confident answer"] == 0.5
    assert values["off-topic: no confident answer"] == 1.0
    assert values["sibling pairs: confident + right article"] is None  # no such question
    table = format_table("t", compute(records))
    assert "MISSED" in table and "ok" in table


def test_a_new_metric_is_one_more_entry():
    answered = Metric("answered", ("answerable",), lambda r: r.outcome == ANSWER, ">= 0.5")
    rows = compute([_record("answerable", ["a"], ANSWER), _record("answerable", ["a"], SUGGEST)], [answered])
    assert rows == [(answered, 0.5, 2)]
    assert meets(0.5, ">= 0.5") == "ok" and meets(0.11, "<= 0.10") == "MISSED" and meets(None, "") == ""
    assert any(m.target for m in METRICS)


def test_labelled_questions_come_split_into_fixed_parts():
    questions = load_labelled()
    assert {q.part for q in questions} == set(PARTS)
    english = [q for q in questions if q.lang == "en"]
    assert sum(q.kind == "answerable" for q in english) >= 300
    assert all((q.article is None) == (q.kind != "answerable") for q in questions)


def test_stackfaq_loader_drops_star_entries_and_handles_odd_shapes(tmp_path):
    threads = [
        {
            "question": "Delete account?",
            "answer": ["Go to settings.", "  "],
            "rephr": ["remove acct", "*", " "],
        },
        {"question": "Dark mode?", "answer": "Use the toggle.", "rephr": "night theme"},
        {"question": "Export?", "answer": ["CSV."], "rephr": []},
        {"question": "Fonts?", "answer": ["Bold."], "rephr": None},
        {"question": "Cross out?", "answer": ["~~x~~"], "rephr": ["strike"]},
    ]
    (tmp_path / "stackExchange-FAQ.json").write_text(json.dumps({"root": {"qapair": threads}}))
    articles, queries = load_stackfaq(tmp_path)
    assert [a.title for a in articles] == ["Delete account?", "Dark mode?", "Export?", "Fonts?", "Cross out?"]
    assert [s.text for s in articles[0].sections] == ["Go to settings."]
    assert [(q.q, q.article) for q in queries] == [
        ("remove acct", "thread-000"),
        ("night theme", "thread-001"),
        ("strike", "thread-004"),
    ]
    # the documented held-out fifth: position % 5 == 4
    assert [held_out(a.article_id) for a in articles] == [False, False, False, False, True]


def _signals(score: float, margin: float) -> dict[str, float]:
    return {"score": score, "cosine": score - 0.2, "margin": margin, "title": 0.5, "cosine_gap": margin}


def test_calibration_separates_answerable_from_unanswerable_and_round_trips(tmp_path):
    features = ("score", "margin", "title", "cosine_gap")
    answerable = [_signals(0.8 + i / 100, 0.1) for i in range(10)]
    unanswerable = [_signals(0.4 + i / 100, 0.01) for i in range(5)]
    model = fit(answerable, unanswerable, features=features)
    assert all(model.answers(s) for s in answerable)
    assert not any(model.answers(s) for s in unanswerable)
    path = tmp_path / "calibration.json"
    model.save(path)
    loaded = Calibration.load(path)
    assert loaded.features == model.features and loaded.threshold == pytest.approx(model.threshold, abs=1e-6)
    assert Calibration.from_json(model.to_json()).weights == loaded.weights
    assert Calibration.load(tmp_path / "missing.json") is None


def test_a_reading_floor_withholds_a_confident_answer_and_round_trips():
    """A question whose odd word reads nowhere in the article ("... my Nest thermostat") is not
    answered however sure the other signals are; the floor is stored with the weights."""
    base = Calibration(("score", "reading"), (10.0, 1.0), -5.0, 0.5, suggest_cosine=0.2)
    sure = {"score": 0.9, "reading": 0.5, "cosine": 0.6}
    odd_word = sure | {"reading": 0.15}
    assert base.outcome(odd_word) == ANSWER
    floored = Calibration.from_json(replace(base, reading_floor=0.22).to_json())
    assert floored.reading_floor == pytest.approx(0.22)
    assert floored.outcome(sure) == ANSWER
    assert floored.outcome(odd_word) == SUGGEST
    assert Calibration.load().reading_floor is None  # not shipped (docs/knowledge-quality.md)


def test_a_held_weight_stays_as_given_while_the_others_are_fitted():
    """`kb eval --calibrate` may keep a signal's weight that more questions would wash out."""
    features = ("score", "margin", "title", "cosine_gap")
    answerable = [_signals(0.8 + i / 100, 0.1) for i in range(10)]
    unanswerable = [_signals(0.4 + i / 100, 0.01) for i in range(5)]
    free = fit(answerable, unanswerable, features=features)
    held = fit(answerable, unanswerable, features=features, held={"title": 3.0})
    assert dict(zip(held.features, held.weights, strict=True))["title"] == 3.0
    assert dict(zip(free.features, free.weights, strict=True))["title"] != 3.0
    assert all(held.answers(s) for s in answerable) and not any(held.answers(s) for s in unanswerable)


def test_threshold_sits_between_the_groups():
    assert 0.5 < best_threshold([0.9, 0.8, 0.7], [0.1, 0.2, 0.5]) < 0.7


def test_probes_are_titles_and_specific_headings():
    rows = [
        {"article_id": "a", "title": "Reset your password", "section": "The link expired"},
        {"article_id": "a", "title": "Reset your password", "section": "The link expired"},
        {"article_id": "a", "title": "Reset your password", "section": "Overview"},
        {"article_id": "t", "title": "How to strike text?", "section": "Answer 2"},
    ]
    probes = probes_from_rows(rows)
    assert [(p.text, p.kind) for p in probes] == [
        ("Reset your password", "title"),
        ("The link expired", "heading"),
        ("How to strike text?", "title"),
    ]


def test_bars_come_from_the_leave_one_article_out_searches():
    base = Calibration(("score",), (10.0,), -5.0, 0.5)
    rng = np.random.default_rng(0)
    results = [
        ProbeResult(
            Probe(f"q{i}", "a", "title"), "a", {"score": 0.9, "cosine": 0.8}, {"score": v, "cosine": v}
        )
        for i, v in enumerate(rng.uniform(0.1, 0.7, 200))
    ]
    calibrated = with_bars(base, results, negative_rate=0.1, unrelated_quantile=0.05)
    held = [r.held_out for r in results]
    assert np.mean([calibrated.answers(s) for s in held]) == pytest.approx(0.1, abs=0.01)
    assert np.mean([calibrated.outcome(s) == ABSTAIN for s in held]) == pytest.approx(0.05, abs=0.01)
    assert calibrated.outcome({"score": 0.95, "cosine": 0.9}) == ANSWER
    assert calibrated.outcome({"score": 0.5, "cosine": 0.5}) == SUGGEST
    assert "leave-one-article-out on 200 questions" in calibrated.bars_from
    with pytest.raises(ValueError):
        with_bars(base, results[:3])


def test_committed_calibration_is_fitted_and_has_three_outcomes():
    model = Calibration.load()
    assert model is not None and 0 < model.threshold < 1 and "tune part" in model.fitted_on
    assert model.cosine_floor is None  # no hand-set bypass of the fitted bar
    assert model.suggest_cosine is not None and model.bars_from
    assert "StackFAQ" in model.threshold_note


def test_one_shared_word_far_from_every_article_is_not_a_confident_answer():
    """ "what's your name?" once quoted an order article: the word signals agreed, the vector did not."""
    model = Calibration.load()
    assert model is not None and model.suggest_cosine is not None
    one_word = {f: 1.0 for f in model.features} | {"margin": 0.01, "agreement": 2.0, "cosine_gap": 0.0}
    close = one_word | {"cosine": 0.6}
    assert model.outcome(close) == "answer"
    far = one_word | {"cosine": 0.5 * model.suggest_cosine}
    assert model.confidence(far) >= model.threshold  # the logistic alone would answer
    assert model.outcome(far) == "abstain"
    just_under_the_unrelated_bar = one_word | {"cosine": 0.9 * model.suggest_cosine}
    assert model.outcome(just_under_the_unrelated_bar) == "answer"  # "and on weekends?" (0.198)


def test_later_turns_ask_each_standalone_question_after_an_unrelated_one():
    """A search that lets the earlier turn win is caught, one that ignores it is not."""
    from types import SimpleNamespace

    from knowledge.answer_check import LATER_TURN_STEPS, later_turn_rate

    articles = ["a", "a", "b", "c", "b", "d", "c", "e", "a", "d"]
    questions = [SimpleNamespace(q=f"q{i}", article=x, kind="answerable") for i, x in enumerate(articles)]
    questions.append(SimpleNamespace(q="and then?", article="a", kind="answerable", history=("q0",)))
    questions.append(SimpleNamespace(q="weather?", article=None, kind="off_topic"))
    article_of = {q.q: q.article for q in questions}
    asked: list[tuple[str, tuple[str, ...]]] = []

    def engine(follows_the_earlier_turn: bool):
        def search(question, history=()):
            asked.append((question, tuple(history)))
            topic = history[-1] if history and follows_the_earlier_turn else question
            return SimpleNamespace(article_ids=lambda: [article_of[topic]])

        return SimpleNamespace(search=search)

    assert later_turn_rate(engine(False), questions) == (20, 20, 20)
    assert later_turn_rate(engine(True), questions) == (0, 20, 20)
    earlier = [(q, h[0]) for q, h in asked if h]
    assert len(earlier) == 2 * 10 * len(LATER_TURN_STEPS)  # two runs, each question after two others
    assert all(article_of[q] != article_of[h] for q, h in earlier)
    assert "and then?" not in {q for q, _ in asked}
