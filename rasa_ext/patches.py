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


# --- speed patches (each measured alone: docs/rasa-extensions.md) ----------------------


def _action_validation() -> None:
    """Rasa re-checks the response schema itself against the meta-schema for every reply
    (jsonschema's `validate`), ~60 ms of the event loop per custom action."""
    from rasa.core.actions.action import RemoteAction

    from rasa_ext.action_validation import validate_action_result

    _replace(RemoteAction, "_validate_action_result", validate_action_result)


def _action_session() -> None:
    """Rasa opens a new HTTP session (and TCP connection) for every custom action."""
    from rasa.utils.endpoints import EndpointConfig

    from rasa_ext import action_session

    action_session.rasa_session = EndpointConfig.session
    _replace(EndpointConfig, "session", action_session.shared_session)


class _CopyForDebugLogs:
    """`copy` for modules that deep-copy only to pass the copy to a debug log line."""

    @staticmethod
    def deepcopy(value: Any, memo: dict | None = None) -> Any:
        import copy
        import logging

        if logging.getLogger("rasa").isEnabledFor(logging.DEBUG):
            return copy.deepcopy(value, memo)
        return value


def _debug_log_copies() -> None:
    from rasa.core import processor
    from rasa.core.policies import memoization, rule_policy

    for module in (processor, memoization, rule_policy):
        _replace(module, "copy", _CopyForDebugLogs)


def _event_types() -> None:
    """`Event.resolve_by_type` walks every Event subclass for every event it rebuilds."""
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    rasa_resolve = Event.resolve_by_type
    table: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: type | None = None) -> Any:
        if not table:
            for cls in all_subclasses(Event):
                table.setdefault(cls.type_name, cls)  # Rasa returns the first of a name
        found = table.get(type_name)
        if found is None:
            found = rasa_resolve(type_name, default)
            if found is not None and found is not default:
                table.clear()  # a class defined since the table was built
        return found

    _replace(Event, "resolve_by_type", staticmethod(resolve_by_type))


def _past_states() -> None:
    """The rule policy asks twice per prediction for states Rasa rebuilds from every event."""
    import threading
    import weakref

    from rasa.shared.core.trackers import DialogueStateTracker

    compute, last = DialogueStateTracker.past_states, threading.local()

    def frozen(value: Any) -> Any:
        if isinstance(value, dict):
            return tuple(sorted((k, frozen(v)) for k, v in value.items()))
        if isinstance(value, (set, frozenset)):
            return frozenset(frozen(v) for v in value)
        return tuple(frozen(v) for v in value) if isinstance(value, (list, tuple)) else value

    def copied(states: list[dict]) -> list[dict]:
        return [{name: dict(sub) for name, sub in state.items()} for state in states]

    def past_states(self, domain, omit_unset_slots=False, ignore_rule_only_turns=False, rule_only_data=None):  # noqa: ANN001, ANN202
        key = (len(self.events), omit_unset_slots, ignore_rule_only_turns, frozen(rule_only_data))
        newest = self.events[-1] if self.events else None  # `max_event_history` keeps the length
        hit = getattr(last, "entry", None)
        if hit and hit[0]() is self and hit[1]() is domain and hit[2] is newest and hit[3] == key:
            return copied(hit[4])
        states = compute(self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)
        last.entry = (weakref.ref(self), weakref.ref(domain), newest, key, copied(states))
        return states

    _replace(DialogueStateTracker, "past_states", past_states)


def _nlu_thread() -> None:
    """Rasa runs the NLU graph inside the event loop, 6-10 ms a message."""
    from concurrent.futures import ThreadPoolExecutor
    from contextvars import ContextVar

    from rasa.core.processor import MessageProcessor
    from rasa.shared.core.trackers import DialogueStateTracker

    worker = ThreadPoolExecutor(1, thread_name_prefix="nlu-parse")
    parse_with_graph, parse_message = (
        MessageProcessor._parse_message_with_graph,
        MessageProcessor.parse_message,
    )
    parsed: ContextVar[tuple[Any, dict] | None] = ContextVar("nimbus_parsed_message", default=None)

    def _parse_message_with_graph(self, message, tracker, only_output_properties=True) -> dict:  # noqa: ANN001
        ready = parsed.get()
        if ready is not None and ready[0] is message:
            return ready[1]
        return parse_with_graph(self, message, tracker, only_output_properties)

    async def _parse_message(self, message, tracker=None, only_output_properties=True) -> dict:  # noqa: ANN001
        if self.http_interpreter:
            return await parse_message(self, message, tracker, only_output_properties)
        graph_tracker = tracker or DialogueStateTracker.from_events(message.sender_id, [])
        result = await asyncio.get_running_loop().run_in_executor(
            worker, parse_with_graph, self, message, graph_tracker, only_output_properties
        )
        token = parsed.set((message, result))
        try:
            return await parse_message(self, message, tracker, only_output_properties)
        finally:
            parsed.reset(token)

    _replace(MessageProcessor, "_parse_message_with_graph", _parse_message_with_graph)
    _replace(MessageProcessor, "parse_message", _parse_message)


def _intent_scores() -> None:
    """DIET's intent scores from its own weights in numpy instead of a TensorFlow call."""
    from rasa.nlu.classifiers.diet_classifier import DIETClassifier

    from rasa_ext.intent_scores import UNSUPPORTED, scorer_for, sentence_features

    rasa_predict = DIETClassifier._predict

    def _predict(self, message) -> Any:  # noqa: ANN001
        scorer = self.__dict__.get("_nimbus_scorer")
        if scorer is None:
            scorer = self.__dict__["_nimbus_scorer"] = scorer_for(self) or UNSUPPORTED
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
    "action_session": _action_session,
    "debug_log_copies": _debug_log_copies,
    "event_types": _event_types,
    "past_states": _past_states,
    "nlu_thread": _nlu_thread,
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
