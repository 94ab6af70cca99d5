"""Find an event's class by its type name in a table instead of walking every subclass.

Rasa 3.6 turns each stored or returned event into an object through
`Event.resolve_by_type`, which lists every `Event` subclass, recursively and with an
`inspect.isabstract` check per class, for every single event. Reading a ten-turn
conversation from the tracker store rebuilds some sixty events, and the action server's
reply brings more, so this walk was about 2 ms of the Rasa server's CPU per turn, growing
with the conversation (py-spy, `python -m bench.channels --profile 64`). The classes do
not change while the server runs, so the table is built once; a name it does not know
(a class defined later, or Rasa's legacy "topic") goes to Rasa's own lookup, so results
and errors stay Rasa's.
"""

from __future__ import annotations

from typing import Any

from rasa.shared.core import events
from rasa.shared.utils.common import all_subclasses

_original = events.Event.resolve_by_type
_table: dict[str, type] | None = None


def _build() -> dict[str, type]:
    table: dict[str, type] = {}
    for cls in all_subclasses(events.Event):
        # Rasa returns the first class with the name, in this same order.
        table.setdefault(cls.type_name, cls)
    return table


def resolve_by_type(type_name: str, default: type | None = None) -> Any:
    global _table
    if _table is None:
        _table = _build()
    found = _table.get(type_name)
    if found is not None:
        return found
    found = _original(type_name, default)
    if found is not None and found is not default:
        _table = _build()  # a subclass defined since the table was built
    return found


def install() -> None:
    events.Event.resolve_by_type = staticmethod(resolve_by_type)
