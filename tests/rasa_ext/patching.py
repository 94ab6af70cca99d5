"""Tests install a patch only for the duration of a `with` block, never longer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rasa_ext import patches


@contextmanager
def installed(*names: str) -> Iterator[None]:
    if patches.APPLIED:
        raise RuntimeError(f"patches {patches.APPLIED} are still installed by someone else")
    patches.apply(names)
    try:
        yield
    finally:
        patches.undo()
