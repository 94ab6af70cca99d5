"""The handoff deadlines, checked by the action server: an unclaimed handoff past
HANDOFF_UNCLAIMED_WAIT tells the customer they are still waiting; a claimed one with no
message either way for HANDOFF_IDLE_TIMEOUT goes back to the bot.

The deadlines follow from times stored in the handoff records (opened, claimed, last
message), so a restart loses none: the first check after it finds whatever fell due while
the server was down. A due handoff is acted on through Rasa's HTTP API (an external intent
with `output_channel=latest`), like an agent's action, so it runs under the conversation's
lock and what the customer is told reaches their channel. The actions re-check the
deadline and claim the step in the database, so several action servers, or a check that
fires twice, tell the customer once.
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.error

from actions import handoff
from contract import handoff_events as steps

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 15.0


def due(store=None) -> list[tuple[str, str]]:
    """(conversation id, intent) for every handoff whose deadline has passed."""
    store = store or handoff.handoff_store()
    waiting = store.due_waiting(handoff._iso_ago(handoff.waiting_wait()))
    idle = store.due_idle(handoff._iso_ago(handoff.idle_timeout()))
    found = [(r.conversation_id, steps.WAITING_INTENT) for r in waiting]
    found += [(r.conversation_id, steps.EXPIRED_INTENT) for r in idle]
    return found


class HandoffTimer:
    def __init__(self, interval: float = DEFAULT_INTERVAL) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._failing: set[tuple[str, str]] = set()
        self._thread = threading.Thread(target=self._run, name="handoff-timer", daemon=True)

    def start(self) -> HandoffTimer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def tick(self) -> int:
        acted = 0
        token = os.environ.get("RASA_API_TOKEN", "").strip()
        for conversation, intent in due():
            try:
                handoff.trigger(handoff.rasa_url(), conversation, intent, token=token)
            except (urllib.error.URLError, OSError) as exc:
                if (conversation, intent) not in self._failing:  # once, not every tick
                    log.warning("handoff timer: %s for conversation %s failed: %s", intent, conversation, exc)
                self._failing.add((conversation, intent))
                continue
            self._failing.discard((conversation, intent))
            acted += 1
        return acted

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the next tick tries again
                log.exception("handoff timer: check failed")


def start_from_env() -> HandoffTimer | None:
    """Start checking when the team can be told at all; one log line either way."""
    found, _ = handoff.destinations()
    if not found:
        return None
    interval = handoff.support_hours.seconds(os.environ.get("HANDOFF_TIMER_INTERVAL", ""), DEFAULT_INTERVAL)
    log.info(
        "handoff timeouts: customer told after %.0f s unclaimed, back to the bot after %.0f s idle"
        " (checked every %.0f s)",
        handoff.waiting_wait(),
        handoff.idle_timeout(),
        interval,
    )
    return HandoffTimer(interval).start()
