"""DIET's intents from numpy equal TensorFlow's on the trained model, message by message."""

from __future__ import annotations

import asyncio
import dataclasses
import types

import pytest
from rasa.core.agent import load_agent
from rasa.nlu.classifiers.diet_classifier import DIETClassifier
from rasa.shared.nlu.training_data.loading import load_data

from rasa_ext import intent_scores, patches
from scripts.stack import ROOT, train_model
from tests.rasa_ext.patching import installed

pytestmark = pytest.mark.model

ODD_TEXTS = ["?", "🙂", "HUMAN!!!", "wo ist meine bestellung", "pasword resett pls", "a " * 60, "1234"]


@pytest.fixture(scope="module")
def agent():
    return asyncio.run(load_agent(model_path=str(train_model(quiet=True))))


def diet(agent) -> DIETClassifier:
    nodes = agent.processor.graph_runner._graph_schema.nodes  # noqa: SLF001
    for name in nodes:
        component = agent.processor.graph_runner._instantiated_nodes[name]._component  # noqa: SLF001
        if isinstance(component, DIETClassifier):
            return component
    raise AssertionError("no DIETClassifier in the model")


def parse_all(agent, texts: list[str]) -> list[dict]:
    async def run() -> list[dict]:
        return [await agent.parse_message(text) for text in texts]

    return asyncio.run(run())


def test_every_training_example_gets_tensorflow_s_intent_and_ranking(agent, monkeypatch):
    texts = [
        m.get("text") for m in load_data(str(ROOT / "bot" / "data" / "nlu.yml")).intent_examples
    ] + ODD_TEXTS
    tensorflow = parse_all(agent, texts)
    with installed("intent_scores"):
        numpy = parse_all(agent, texts)

    assert isinstance(diet(agent).__dict__["_nimbus_scorer"], intent_scores.SentenceIntentScorer)
    assert len(texts) > 100
    for tf_parse, np_parse in zip(tensorflow, numpy, strict=True):
        assert np_parse["intent"]["name"] == tf_parse["intent"]["name"], tf_parse["text"]
        assert np_parse["intent"]["confidence"] == pytest.approx(tf_parse["intent"]["confidence"], abs=1e-5)
        tf_ranking = {r["name"]: r["confidence"] for r in tf_parse["intent_ranking"]}
        np_ranking = {r["name"]: r["confidence"] for r in np_parse["intent_ranking"]}
        # Same confidences place by place; names may only trade places where float32
        # rounding decides between (near) ties, e.g. several intents at 0.0.
        assert sorted(np_ranking.values()) == pytest.approx(sorted(tf_ranking.values()), abs=1e-5)
        for name in np_ranking.keys() | tf_ranking.keys():
            mine, theirs = np_ranking.get(name, 0.0), tf_ranking.get(name, 0.0)
            assert mine == pytest.approx(theirs, abs=1e-5), (tf_parse["text"], name)
        assert np_parse["entities"] == tf_parse["entities"]


def test_a_model_with_transformer_layers_or_diagnostics_keeps_tensorflow_s_path(agent, monkeypatch):
    classifier = diet(agent)
    deeper = types.SimpleNamespace(
        model=classifier.model,
        component_config={**classifier.component_config, "number_of_transformer_layers": 2},
    )
    scorer = intent_scores.SentenceIntentScorer.from_classifier
    assert scorer(deeper, patches.diet_layers) is None
    assert isinstance(scorer(classifier, patches.diet_layers), intent_scores.SentenceIntentScorer)

    inferences = []
    run_inference = classifier.model.run_inference
    monkeypatch.setattr(
        classifier.model, "run_inference", lambda *a, **k: inferences.append(1) or run_inference(*a, **k)
    )
    with installed("intent_scores"):
        parse_all(agent, ["where is my order?"])
        assert inferences == []  # numpy
        context = dataclasses.replace(classifier._execution_context, should_add_diagnostic_data=True)  # noqa: SLF001
        monkeypatch.setattr(classifier, "_execution_context", context)
        parse_all(agent, ["where is my order?"])
        assert inferences == [1]  # diagnostics (attention weights, ...) come from TensorFlow only
