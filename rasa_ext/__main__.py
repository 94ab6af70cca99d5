"""`python -m rasa_ext run ...`: Rasa's own command line with this package's additions."""

from __future__ import annotations

import os

# Set before NumPy loads. The server's matrices are small (one message's features, a
# few dozen intents); OpenBLAS's extra threads gain nothing on them and spin after each
# product, taking the other core from the action server: one parse cost 5.7 ms of CPU
# with them and 2.4 ms without (`agent.parse_message` loop on the trained model).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from rasa_ext import (  # noqa: E402
    action_fallback,
    action_session,
    action_validation,
    debug_log_copies,
    event_types,
    gc_freeze,
    handoff_destinations,
    health,
    intent_scores,
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
    handoff_destinations.install()
    health.install()
    intent_scores.install()
    lock_wait.install()
    nlu_thread.install()
    past_states.install()
    store_outage.install()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
