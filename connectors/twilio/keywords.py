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
