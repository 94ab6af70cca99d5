"""Show that nothing (more) happened without sleeping: wait for a later turn instead.

Rasa runs the turns of one conversation one at a time, in the order they asked for its
lock, and stores each turn when it ends; a reply goes out during its turn. So once a
message sent *after* the ones that must have no effect has its turn stored, any of them
wrongly accepted would have been stored, and answered, before it. Tests send such a later
message into the same conversation, wait for its stored turn, then count what was sent.
"""

from __future__ import annotations

from collections.abc import Callable

from tests.e2e.channels import user_events


def after_a_later_turn(
    stack, conversation: str, send_later: Callable[[], object], stored_before: int
) -> list[str]:
    """Send the later message and wait until its turn is stored; the conversation's user
    texts then, in order. `stored_before`: user turns the conversation should already hold."""
    send_later()
    events = user_events(stack, conversation, stored_before + 1, timeout=60)
    assert len(events) >= stored_before + 1, f"the later turn of {conversation} was never stored"
    return [event.get("text") for event in events]


def stored_turn(stack, conversation: str, text: str, timeout: float = 60) -> list[str]:
    """Wait until the turn of the user message starting with `text` is stored (its replies,
    if any, went out before that); the conversation's user texts then, in order."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        said = [event.get("text") or "" for event in user_events(stack, conversation, 0)]
        if any(line.startswith(text) for line in said):
            return said
        assert time.monotonic() < deadline, f"no stored turn {text!r} in {conversation}: {said}"
        time.sleep(0.2)
