"""The patches are applied in one place, only on Rasa 3.6.21, and can be taken back out."""

from __future__ import annotations

import pytest
from rasa.core.actions import action
from rasa.nlu.classifiers.diet_classifier import DIETClassifier

from rasa_ext import patches
from rasa_ext.server import NimbusServer

TOUCHED = [(action.RemoteAction, "_validate_action_result"), (DIETClassifier, "_predict")]


def raw(owner, name):
    return owner.__dict__[name]


def test_another_rasa_version_is_refused_with_what_to_do():
    with pytest.raises(patches.UnsupportedRasaVersion) as refused:
        patches.check_version("3.6.20")
    message = str(refused.value)
    assert "Rasa 3.6.20" in message and "rasa==3.6.21" in message and "docs/rasa-extensions.md" in message
    patches.check_version("3.6.21")  # the pinned one passes


def test_the_server_channel_stops_rasa_run_with_that_message_on_another_version(monkeypatch):
    import rasa

    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(SystemExit) as stopped:
        NimbusServer.from_credentials(None)
    assert str(stopped.value).startswith("error: rasa_ext/patches.py changes Rasa 3.6.21 internals")
    assert patches.APPLIED == []  # nothing was changed before refusing
    assert [raw(owner, name).__module__ for owner, name in TOUCHED] == [
        "rasa.core.actions.action",
        "rasa.nlu.classifiers.diet_classifier",
    ]


def test_every_patch_is_applied_once_and_undone_completely():
    before = [raw(owner, name) for owner, name in TOUCHED]
    names = patches.apply()
    try:
        assert names == list(patches.PATCHES)
        assert patches.apply() == names  # a second channel or call changes nothing more
        assert all(raw(o, n) is not b for (o, n), b in zip(TOUCHED, before, strict=True))
    finally:
        patches.undo()
    assert [raw(owner, name) for owner, name in TOUCHED] == before
    assert patches.APPLIED == []


def test_patches_can_be_switched_off_by_name_and_unknown_names_are_refused(monkeypatch):
    monkeypatch.setenv("NIMBUS_RASA_PATCHES_OFF", "intent_scores")
    try:
        NimbusServer.from_credentials(None)
        assert patches.APPLIED == ["action_validation"]
        assert DIETClassifier.__dict__["_predict"].__module__ == "rasa.nlu.classifiers.diet_classifier"
    finally:
        patches.undo()
    for dropped in ("nlu_thread", "action_apology"):  # dropped, or no longer a patch
        monkeypatch.setenv("NIMBUS_RASA_PATCHES_OFF", dropped)
        with pytest.raises(SystemExit, match="unknown patches"):
            NimbusServer.from_credentials(None)
        assert patches.APPLIED == []


def test_no_test_leaves_a_patch_installed():
    # Runs in the same session as every other rasa_ext test; any leftover shows here.
    assert patches.APPLIED == []
    assert all(raw(o, n).__module__.startswith("rasa.") for o, n in TOUCHED)


def test_only_the_guarded_module_touches_rasa_internals():
    """A line elsewhere that reads a private Rasa name would break unguarded on an upgrade."""
    from scripts.rasa_internals import DEFAULT_PATHS, GUARDED, count, files

    table = count(files(DEFAULT_PATHS, None))
    others = {name: row["counted"] for name, row in table.items() if name != GUARDED}
    assert GUARDED in table and others == {}, others
    assert table[GUARDED]["counted"] < 100  # issue 21's target, all of it guarded
