"""The keywords a Twilio channel answers itself: opt-out and opt-in (a carrier requirement on
SMS, honoured on WhatsApp too), help, and the digits of the feedback prompt."""

STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "UNSTOP", "YES"}
HELP_WORDS = {"HELP", "INFO"}
# Feedback on an answer ("Helpful? Reply 1 for yes, 2 for no." in actions/render/sms.py).
# Never YES/NO: YES is a carrier opt-in keyword, answered by the carrier, not by us.
FEEDBACK_WORDS = {
    "1": "/feedback_helpful",
    "Y": "/feedback_helpful",
    "2": "/feedback_unhelpful",
    "N": "/feedback_unhelpful",
}
# "Reply MORE for the rest" (actions/render/sms.py, after an answer that leaves part out),
# and the word in the customer's language: es/pt MAS/MÁS/MAIS, de MEHR, fr SUITE. None is a
# carrier keyword (above, and Twilio's own list), so the carrier passes them on to us.
MORE_WORDS = {"MORE", "MAS", "MÁS", "MEHR", "SUITE", "MAIS"}
MORE_INTENT = "/more"
_PUNCTUATION = " \t\r\n.,;:!?¡¿'\"()[]*_~-…"


def more_keyword(body: str) -> str | None:
    """`/more` when the whole message is one of `MORE_WORDS` (any case, any punctuation
    around it: "more", "More!", "¿más?"), else None: "more info about X" is a question."""
    word = body.strip().strip(_PUNCTUATION).strip()
    return MORE_INTENT if word.upper() in MORE_WORDS else None
