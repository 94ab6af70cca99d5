"""Every change Nimbus makes to Rasa's own code, in one place, for Rasa 3.6.21 only.

Everything else in rasa_ext/ uses Rasa's extension points (an input channel, tracker and
lock store classes named in the endpoint files). What is here has no extension point:
it replaces Rasa internals, so it is written against one Rasa version, and `apply()`
refuses to start on any other, naming what to do. The server channel
(`rasa_ext.server.NimbusServer`, listed in credentials.yml) calls `apply()` once when
`rasa run` loads it, before the model is loaded and before any action is built.

Each patch, its reason and the gain it was measured to bring are listed in
docs/rasa-extensions.md. `NIMBUS_RASA_PATCHES_OFF=name,name` leaves the named ones out
(how the benchmark measures each one alone); `undo()` restores Rasa's own code (tests).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

RASA_VERSION = "3.6.21"
_MISSING = object()
# (owner, attribute, what it was) for every replacement made, in order.
_replaced: list[tuple[Any, str, Any]] = []
_applied: list[str] = []


class UnsupportedRasaVersion(RuntimeError):
    """Raised at start-up, before anything is changed: the message says what to do."""


def check_version(version: str | None = None) -> None:
    if version is None:
        import rasa

        version = rasa.__version__
    if version != RASA_VERSION:
        raise UnsupportedRasaVersion(
            f"rasa_ext/patches.py changes Rasa {RASA_VERSION} internals and refuses to run on "
            f"Rasa {version}. Install rasa=={RASA_VERSION} (constraints/rasa.txt), or port and "
            "re-measure each patch (docs/rasa-extensions.md) before changing the pin."
        )


def _replace(owner: Any, name: str, value: Any) -> None:
    original = owner.__dict__.get(name, _MISSING) if isinstance(owner, type) else getattr(owner, name)
    _replaced.append((owner, name, original))
    setattr(owner, name, value)


# --- the apology when a custom action fails --------------------------------------------
# Rasa 3.6 catches every exception of an action inside `MessageProcessor._run_action`, logs
# it and replies nothing; no channel or component ever sees the failure. Rasa builds every
# custom-action call from `RemoteAction`, so the subclass Rasa is made to build instead is
# the one place that sees each failure with the conversation and output channel at hand.


def _action_apology() -> None:
    from rasa.core.actions import action, forms

    from rasa_ext.apology import action_timeout, apology_events, describe, log_failure

    class ResilientRemoteAction(action.RemoteAction):
        async def run(self, output_channel, nlg, tracker, domain) -> list:  # noqa: ANN001
            try:
                return await asyncio.wait_for(
                    super().run(output_channel, nlg, tracker, domain), timeout=action_timeout()
                )
            except action.ActionExecutionRejection:
                raise  # a deliberate rejection still goes back to Rasa's policies
            except Exception as exc:  # noqa: BLE001 - any other failure means "no answer"
                log_failure(self.name(), tracker.sender_id, describe(exc))
                return await apology_events(nlg, tracker, output_channel, domain)

    _replace(action, "RemoteAction", ResilientRemoteAction)
    _replace(forms, "RemoteAction", ResilientRemoteAction)


# --- speed patches (each measured alone, kept for a gain beyond run-to-run noise:
# docs/rasa-extensions.md) ------------------------------------------------------------


def _action_validation() -> None:
    """Rasa re-checks the response schema itself against the meta-schema for every reply
    (jsonschema's `validate`), ~60 ms of the event loop per custom action."""
    from rasa.core.actions.action import RemoteAction

    from rasa_ext.action_validation import validate_action_result

    _replace(RemoteAction, "_validate_action_result", validate_action_result)


def _diet_layers(classifier: Any) -> tuple | None:
    """The weights of DIET's sentence path, read from its private TensorFlow layers; None
    where the model has more than that path (entity tags, hidden or transformer layers)."""
    from rasa.utils.tensorflow.constants import ENTITY_RECOGNITION

    from rasa_ext.intent_scores import weights

    specs = getattr(classifier, "_entity_tag_specs", None) or []
    if classifier.component_config.get(ENTITY_RECOGNITION) and any(s.num_tags > 0 for s in specs):
        return None
    model = classifier.model
    try:
        sequence_layer = model._tf_layers["sequence_layer.text"]
        combining = sequence_layer._tf_layers[sequence_layer.FEATURE_COMBINING]
        sentence = combining._tf_layers["sparse_dense.sentence"]
        if set(sentence._tf_layers) - {"sparse_to_dense", "sparse_dropout", "dense_dropout"}:
            return None
        ffnn = sequence_layer._tf_layers[sequence_layer.FFNN]
        if getattr(ffnn, "_ffn_layers", None) or sequence_layer._has_transformer:
            return None
        unify = combining._tf_layers.get("unify_dims_before_seq_sent_concat.sentence")
        return (
            weights(sentence._tf_layers["sparse_to_dense"]),
            weights(unify) if unify is not None else None,
            weights(model._tf_layers["embed.text"]._dense),
            model._tf_layers["loss.label"].similarity_type,
        )
    except (KeyError, AttributeError, ValueError):
        return None


def diet_scorer(classifier: Any) -> Any:
    from rasa_ext.intent_scores import SentenceIntentScorer

    return SentenceIntentScorer.from_classifier(classifier, _diet_layers)


def _intent_scores() -> None:
    """DIET's intent scores from its own weights in numpy instead of a TensorFlow call:
    a parse 5.0-5.8 -> 2.1-2.5 ms of CPU, all of it holding the server's one interpreter."""
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier

    from rasa_ext.intent_scores import UNSUPPORTED, sentence_features

    rasa_predict = DIETClassifier._predict

    def _predict(self, message) -> Any:  # noqa: ANN001
        scorer = self.__dict__.get("_nimbus_scorer")
        if scorer is None:
            scorer = self.__dict__["_nimbus_scorer"] = diet_scorer(self) or UNSUPPORTED
        context = getattr(self, "_execution_context", None)
        if scorer is UNSUPPORTED or getattr(context, "should_add_diagnostic_data", False):
            return rasa_predict(self, message)
        features = sentence_features(self, message)
        if features is None or features[2] != scorer.vocabulary_size:
            return rasa_predict(self, message)
        return {"i_scores": scorer.scores(features[0], features[1])}

    _replace(DIETClassifier, "_predict", _predict)


PATCHES: dict[str, Callable[[], None]] = {
    "action_validation": _action_validation,  # before the apology: patches Rasa's own class
    "action_apology": _action_apology,
    "intent_scores": _intent_scores,
}


def switched_off() -> set[str]:
    raw = os.environ.get("NIMBUS_RASA_PATCHES_OFF", "")
    names = {name.strip() for name in raw.split(",") if name.strip()}
    unknown = names - set(PATCHES)
    if unknown:
        raise UnsupportedRasaVersion(
            f"NIMBUS_RASA_PATCHES_OFF names unknown patches {sorted(unknown)}; known: {sorted(PATCHES)}"
        )
    return names


def apply(names: list[str] | None = None) -> list[str]:
    """Install the patches (all but those switched off), once per process."""
    check_version()
    if _applied:
        return list(_applied)
    off = switched_off() if names is None else set(PATCHES) - set(names)
    for name, install in PATCHES.items():
        if name not in off:
            install()
            _applied.append(name)
    return list(_applied)


def applied() -> list[str]:
    return list(_applied)


def undo() -> None:
    """Put Rasa's own code back, newest replacement first."""
    while _replaced:
        owner, name, original = _replaced.pop()
        if original is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
    _applied.clear()


@contextmanager
def installed(*names: str) -> Iterator[None]:
    """Tests: the named patches for the duration of a `with` block, never longer."""
    if _applied:
        raise RuntimeError(f"patches {_applied} are still installed by someone else")
    apply(list(names))
    try:
        yield
    finally:
        undo()
