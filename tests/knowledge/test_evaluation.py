"""The metric, benchmark-loading and calibration code behind `kb eval`."""

import json

import pytest

from knowledge.calibration import Calibration, best_threshold, fit
from knowledge.evaluation import (
    abstain_rates,
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
    assert sum(q.gold is None for q in questions) >= 10


def test_calibration_separates_answerable_from_unanswerable_and_round_trips(tmp_path):
    answerable = [{"score": 0.8 + i / 100, "cosine": 0.6 + i / 100, "margin": 0.1} for i in range(10)]
    unanswerable = [{"score": 0.4 + i / 100, "cosine": 0.2 + i / 100, "margin": 0.01} for i in range(5)]
    model = fit(answerable, unanswerable)
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
