"""DIET's intent scores computed with numpy from its own trained weights.

With no transformer layers (bot/config.yml) DIET's intent score for a message depends on
its sentence-level features alone: one sparse-to-dense layer, the text embedding layer,
a dot product with the intents' embeddings (computed once by Rasa when the model loads)
and a softmax. Rasa still runs that through TensorFlow: building a batch of model data,
converting it to tensors and calling the prediction graph cost ~5 of the ~7.3 ms of CPU
a parse takes (cProfile of `agent.parse_message` on the trained model), all of it holding
the Rasa server's one interpreter lock, which at 64 conversations is the server's queue
(py-spy `--gil`: the lock held 88 % of the time, a quarter of that in the parse).

The same arithmetic in numpy on the sentence's few non-zero features takes well under a
millisecond. Only DIETClassifier's `_predict` changes: the ranking, renormalisation, the
fallback classifier and everything after read the same `i_scores` as before, equal to
TensorFlow's to float32 rounding (`tests/rasa_ext/test_intent_scores.py` compares both on
every training example). A model this shortcut does not describe (transformer layers,
hidden layers, entity tags, dense features, diagnostic data requested) keeps Rasa's path.
`NIMBUS_RASA_PATCHES_OFF=intent_scores` keeps Rasa's path for every model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

UNSUPPORTED = object()  # cached per classifier: this model needs TensorFlow's path


class SentenceIntentScorer:
    """The layers between a message's sentence features and its intent confidences."""

    def __init__(
        self,
        to_dense: tuple[np.ndarray, np.ndarray | None],
        unify: tuple[np.ndarray, np.ndarray | None] | None,
        embed: tuple[np.ndarray, np.ndarray | None],
        labels: np.ndarray,
        cosine: bool,
    ) -> None:
        (self._kernel, self._bias), self._unify, self._embed = to_dense, unify, embed
        self._labels, self._cosine = labels, cosine
        if cosine:
            self._labels = _l2_normalize(labels)

    @property
    def vocabulary_size(self) -> int:
        return self._kernel.shape[0]

    def scores(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Confidences, shape (1, intents), for the non-zero sentence features (the
        columns of Rasa's combined sparse matrix; a repeated column adds up, as in
        TensorFlow's sparse product)."""
        hidden = values.astype(np.float32) @ self._kernel[columns]
        if self._bias is not None:
            hidden = hidden + self._bias
        if self._unify is not None:
            hidden = _dense(hidden, *self._unify)
        embedded = _dense(hidden, *self._embed)
        if self._cosine:
            embedded = _l2_normalize(embedded)
        similarities = self._labels @ embedded
        shifted = np.exp(similarities - similarities.max())  # softmax: the only confidence kept
        return (shifted / shifted.sum()).astype(np.float32)[np.newaxis, :]

    @classmethod
    def from_classifier(
        cls, classifier: Any, read_layers: Callable[[Any], tuple | None]
    ) -> SentenceIntentScorer | None:
        """The scorer for a loaded `DIETClassifier`, or None where its model needs more.
        `read_layers` (rasa_ext/patches.py, the one module that reads Rasa's internals)
        gives the sentence path's weights and similarity, or None."""
        from rasa.utils.tensorflow.constants import (
            COSINE,
            HIDDEN_LAYERS_SIZES,
            INNER,
            INTENT_CLASSIFICATION,
            MODEL_CONFIDENCE,
            NUM_TRANSFORMER_LAYERS,
            SOFTMAX,
        )

        config, model = classifier.component_config, classifier.model
        if model is None or not config.get(INTENT_CLASSIFICATION):
            return None
        layers_count = config.get(NUM_TRANSFORMER_LAYERS)
        if isinstance(layers_count, dict):
            layers_count = layers_count.get("text", 0)
        if layers_count or (config.get(HIDDEN_LAYERS_SIZES) or {}).get("text"):
            return None
        if config.get(MODEL_CONFIDENCE) != SOFTMAX or getattr(model, "all_labels_embed", None) is None:
            return None
        layers = read_layers(classifier)
        if layers is None:
            logger.info("DIET intents: TensorFlow path (a model this shortcut does not describe)")
            return None
        to_dense, unify, embed, similarity = layers
        if similarity not in (INNER, COSINE):
            return None
        return cls(
            to_dense=to_dense,
            unify=unify,
            embed=embed,
            labels=np.asarray(model.all_labels_embed, dtype=np.float32),
            cosine=similarity == COSINE,
        )


def scores(classifier: Any, message: Any, read_layers: Callable[[Any], tuple | None]) -> np.ndarray | None:
    """The message's intent confidences from the classifier's scorer (built once per
    classifier), or None where TensorFlow's path must run (a model this shortcut does not
    describe, dense features, a vocabulary that does not match)."""
    scorer = classifier.__dict__.get("_nimbus_scorer")
    if scorer is None:
        scorer = SentenceIntentScorer.from_classifier(classifier, read_layers) or UNSUPPORTED
        classifier.__dict__["_nimbus_scorer"] = scorer
    if scorer is UNSUPPORTED:
        return None
    features = sentence_features(classifier, message)
    if features is None or features[2] != scorer.vocabulary_size:
        return None
    return scorer.scores(features[0], features[1])


def _linear() -> Any:
    import tensorflow as tf

    return tf.keras.activations.linear


def weights(layer: Any) -> tuple[np.ndarray, np.ndarray | None] | None:
    """A dense layer's kernel and bias (None for no layer); only a linear layer has a place here."""
    if layer is None:
        return None
    if layer.activation not in (None, _linear()):
        raise ValueError(f"{layer.name} has an activation")
    return layer.kernel.numpy(), layer.bias.numpy() if layer.use_bias else None


def _dense(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    out = x @ kernel
    return out + bias if bias is not None else out


def _l2_normalize(x: np.ndarray) -> np.ndarray:
    # tf.nn.l2_normalize: x / sqrt(max(sum(x**2), 1e-12))
    return x / np.sqrt(np.maximum(np.sum(x * x, axis=-1, keepdims=True), 1e-12))


def sentence_features(classifier: Any, message: Any) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The non-zeros of the message's sparse sentence features as DIET's model data would
    combine them (side by side, in the message's order), and their total width; None where
    DIET would also see dense features or no sentence features. Rasa's own combining
    copies and stacks scipy matrices: 1.3 of the 1.7 ms this path took at first."""
    from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
    from rasa.utils.tensorflow.constants import FEATURIZERS

    featurizers = classifier.component_config.get(FEATURIZERS) or []
    columns, values, width = [], [], 0
    for feature in message.features:
        if feature.attribute != TEXT or (featurizers and feature.origin not in featurizers):
            continue
        if feature.is_dense():
            return None
        if feature.type != FEATURE_TYPE_SENTENCE:
            continue
        matrix = feature.features.tocoo()
        columns.append(matrix.col + width)
        values.append(matrix.data)
        width += matrix.shape[-1]
    if not columns:
        return None
    return np.concatenate(columns), np.concatenate(values), width
