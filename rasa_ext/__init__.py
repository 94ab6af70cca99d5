"""Additions to the Rasa 3.6 server that it has no extension point for.

`python -m rasa_ext run ...` is `rasa run ...` with them installed (scripts/stack.py
starts Rasa this way): an apology instead of silence when the action server is down or
slow (`action_fallback`) or the conversation stores are unreachable (`store_outage`), and
a readiness route for load balancers (`health`), a prompt lock hand-over (`lock_wait`),
kept-alive connections to the action server (`action_session`), message parsing off the
event loop (`nlu_thread`), DIET's intent scores without TensorFlow (`intent_scores`),
and less event-loop time per turn (`event_types`, `debug_log_copies`,
`action_validation`, `past_states`, `gc_freeze`).
"""
