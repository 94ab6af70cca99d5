"""The metric, benchmark-loading and calibration code behind `kb eval`."""

import json

import pytest

from knowledge.calibration import Calibration, best_threshold, fit
from knowledge.evaluation import (
    Query,
    Report,
    Run,
    abstain_rates,
    cross_validated,
    describe,
    held_out,
    load_questions,
    load_stackfaq,
    mrr_at,
    percentile,
    recall_at,
    tradeoff_curve,
)


def test_recall_and_mrr_count_the_gold_article_position():
    rankings = [["a", "b", "c"], ["b", "a", "c"], ["c", "b", "x"], []]
    gold = ["a", "a", "a", "a"]
    assert recall_at(rankings, gold, 1) == 0.25
    assert recall_at(rankings, gold, 2) == 0.5
    assert mrr_at(rankings, gold, 10) == pytest.approx((1 + 0.5) / 4)
    assert mrr_at([["b", "a"]], ["a"], 1) == 0.0  # outside the cut-off counts nothing


def test_percentiles_and_abstain_rates():
    assert percentile([1, 2, 3, 4, 100], 50) == 3
    rates = abstain_rates(
        decisions=[True, True, False, False, True],
        top1_right=[True, False, True, False, False],
        answerable=[True, True, True, False, False],
    )
    assert rates.answered_right == pytest.approx(1 / 3)
    assert rates.answered_wrong == pytest.approx(1 / 3)
    assert rates.refused_answerable == pytest.approx(1 / 3)
    assert rates.refused_unanswerable == 0.5


def test_tradeoff_curve_moves_from_answering_everything_to_refusing_everything():
    confidence = [0.9, 0.6, 0.2, 0.1]
    curve = tradeoff_curve(
        confidence, [True, True, False, False], [True, True, False, False], [0.0, 0.5, 1.0]
    )
    assert [round(r.answered_right, 2) for _, r in curve] == [1.0, 1.0, 0.0]
    assert [round(r.refused_unanswerable, 2) for _, r in curve] == [0.0, 1.0, 1.0]


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
    assert articles[1].sections[0].text == "Use the toggle."
    assert [(q.text, q.gold) for q in queries] == [
        ("remove acct", "thread-000"),
        ("night theme", "thread-001"),
        ("strike", "thread-004"),
    ]
    # the documented held-out fifth: position % 5 == 4
    assert [held_out(a.article_id) for a in articles] == [False, False, False, False, True]


def test_own_question_set_is_large_enough_and_has_unanswerable_questions():
    questions = load_questions()
    assert len(questions) >= 60
    assert sum(q.gold is None for q in questions) >= 40


def test_calibration_separates_answerable_from_unanswerable_and_round_trips(tmp_path):
    def signals(score: float, margin: float) -> dict[str, float]:
        return {"score": score, "cosine": score - 0.2, "margin": margin, "title": 0.5, "cosine_gap": margin}

    answerable = [signals(0.8 + i / 100, 0.1) for i in range(10)]
    unanswerable = [signals(0.4 + i / 100, 0.01) for i in range(5)]
    model = fit(answerable, unanswerable)  # the default features, as `kb eval --calibrate` fits
    assert all(model.answers(s) for s in answerable)
    assert not any(model.answers(s) for s in unanswerable)
    path = tmp_path / "calibration.json"
    model.save(path)
    loaded = Calibration.load(path)
    assert loaded.features == model.features and loaded.threshold == pytest.approx(model.threshold, abs=1e-6)
    assert Calibration.load(tmp_path / "missing.json") is None


def test_threshold_sits_between_the_groups():
    assert 0.5 < best_threshold([0.9, 0.8, 0.7], [0.1, 0.2, 0.5]) < 0.7


def test_committed_calibration_is_readable():
    model = Calibration.load()
    assert model is not None and 0 < model.threshold < 1 and model.fitted_on


def test_committed_calibration_is_fitted_not_hand_patched():
    model = Calibration.load()
    assert model.cosine_floor is None  # no hand-set bypass of the fitted bar
    assert "Youden" in model.threshold_note and "StackFAQ" in model.threshold_note
    assert model.unanswerable >= 40
    assert "confidence >=" in describe(model) and "cosine >=" not in describe(model)


def _report(signals: list[dict], answerable: list[bool]) -> Report:
    queries = [Query(f"q{i}", "a" if ok else None) for i, ok in enumerate(answerable)]
    run = Run(rankings=[["a"]] * len(queries), signals=signals)
    runs = {"hybrid": run}
    return Report("toy", [], runs, queries, runs, queries)


def test_leave_one_out_decides_each_question_without_it():
    features = ("score", "margin")
    pos = [{"score": 0.8 + i / 100, "margin": 0.2} for i in range(8)]
    neg = [{"score": 0.3 + i / 100, "margin": 0.01} for i in range(8)]
    rates = cross_validated(_report(pos + neg, [True] * 8 + [False] * 8), features)
    assert rates.answered_right == 1.0 and rates.refused_unanswerable == 1.0
    # an unanswerable question that looks exactly like the answerable ones is answered
    # once it is left out (in-sample it would have pulled the bar up)
    odd = {"score": 0.85, "margin": 0.2}
    rates = cross_validated(_report(pos + neg + [odd], [True] * 8 + [False] * 9), features)
    assert rates.refused_unanswerable == pytest.approx(8 / 9)
