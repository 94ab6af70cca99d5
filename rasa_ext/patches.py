"""Every change Nimbus makes to Rasa's own code: two speed patches, for Rasa 3.6.21 only.

Everything else in rasa_ext/ uses Rasa's extension points. These replace private methods,
so `apply()` (called once by the server channel, rasa_ext/server.py) refuses to start on
any other Rasa version. Each patch and its measured gain: docs/rasa-extensions.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

RASA_VERSION = "3.6.21"
APPLIED: list[str] = []  # the names of the patches installed, in order
_replaced: list[tuple[type, str, Any]] = []  # (class, attribute, Rasa's own value)


class UnsupportedRasaVersion(RuntimeError):
    """Raised before anything is changed; the message says what to do."""


def check_version(version: str | None = None) -> None:
    import rasa

    if (version := version or rasa.__version__) != RASA_VERSION:
        raise UnsupportedRasaVersion(
            f"rasa_ext/patches.py changes Rasa {RASA_VERSION} internals and refuses to run on "
            f"Rasa {version}. Install rasa=={RASA_VERSION} (constraints/rasa.txt), or port and "
            "re-measure each patch (docs/rasa-extensions.md) before changing the pin."
        )


def _action_validation() -> None:
    """The response schema checked once, not against the meta-schema for every reply."""
    from rasa.core.actions.action import RemoteAction

    from rasa_ext.action_validation import validate_action_result

    original = RemoteAction.__dict__["_validate_action_result"]
    _replaced.append((RemoteAction, "_validate_action_result", original))
    RemoteAction._validate_action_result = validate_action_result


def diet_layers(classifier: Any) -> tuple | None:
    """The weights of DIET's sentence path, from its private TensorFlow layers; None where
    the model has more than that path (entity tags, hidden or transformer layers)."""
    from rasa_ext.intent_scores import weights

    if any(spec.num_tags > 0 for spec in getattr(classifier, "_entity_tag_specs", None) or []):
        return None
    layers = classifier.model._tf_layers
    try:
        sequence = layers["sequence_layer.text"]
        combining = sequence._tf_layers[sequence.FEATURE_COMBINING]
        sentence = combining._tf_layers["sparse_dense.sentence"]._tf_layers
        unify = combining._tf_layers.get("unify_dims_before_seq_sent_concat.sentence")
        if set(sentence) - {"sparse_to_dense", "sparse_dropout", "dense_dropout"} or (
            getattr(sequence._tf_layers[sequence.FFNN], "_ffn_layers", None) or sequence._has_transformer
        ):
            return None
        to_dense, embed = weights(sentence["sparse_to_dense"]), weights(layers["embed.text"]._dense)
        return to_dense, weights(unify), embed, layers["loss.label"].similarity_type
    except (KeyError, AttributeError, ValueError):
        return None


def _intent_scores() -> None:
    """DIET's intent scores in numpy from its own weights (rasa_ext/intent_scores.py)."""
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier

    from rasa_ext.intent_scores import scores

    rasa_predict = DIETClassifier.__dict__["_predict"]

    def _predict(self: DIETClassifier, message: Any) -> Any:
        diagnostics = getattr(getattr(self, "_execution_context", None), "should_add_diagnostic_data", 0)
        found = None if diagnostics else scores(self, message, diet_layers)
        return rasa_predict(self, message) if found is None else {"i_scores": found}

    _replaced.append((DIETClassifier, "_predict", rasa_predict))
    DIETClassifier._predict = _predict


PATCHES = {"action_validation": _action_validation, "intent_scores": _intent_scores}


def apply(names: Iterable[str] | None = None) -> list[str]:
    """Install the named patches (all by default), once per process; the names installed."""
    check_version()
    for name in [] if APPLIED else list(PATCHES if names is None else names):
        PATCHES[name]()
        APPLIED.append(name)
    return list(APPLIED)


def undo() -> None:  # Rasa's own code back, newest replacement first (tests)
    while _replaced:
        setattr(*_replaced.pop())
    APPLIED.clear()
