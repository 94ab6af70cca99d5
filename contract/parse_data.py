"""What the Rasa side's NLU adds to a message's parse data for the action server to read.

The question guard (rasa_ext/question_guard.py) re-labels a question-shaped message as
`nlu_fallback` and says so under `GUARD`; for small talk it also names the reply to send
when the articles do not answer confidently (actions/knowledge_action.py reads it).
"""

GUARD = "question_guard"  # {"relabelled": <intent>, "unless_answered": <response>?}
RELABELLED = "relabelled"
UNLESS_ANSWERED = "unless_answered"
