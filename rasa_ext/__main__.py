"""`python -m rasa_ext run ...`: Rasa's own command line with this package's additions."""

from __future__ import annotations

from rasa_ext import (
    action_fallback,
    action_session,
    action_validation,
    debug_log_copies,
    event_types,
    gc_freeze,
    health,
    lock_wait,
    nlu_thread,
    past_states,
    store_outage,
)


def main() -> None:
    action_fallback.install()
    action_session.install()
    action_validation.install()
    debug_log_copies.install()
    event_types.install()
    gc_freeze.install()
    health.install()
    lock_wait.install()
    nlu_thread.install()
    past_states.install()
    store_outage.install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
