"""About 1,000 validly signed, mostly malformed bodies per channel into the real server
(bench/fuzz_webhooks.py's generator, fixed seed): not one 5xx, and every server healthy
after. `python -m bench.fuzz_webhooks` runs 5,000 per channel."""

from __future__ import annotations

from bench.fuzz_webhooks import Secrets, fuzz, healthy
from tests.e2e.channels import (
    SLACK_SECRET,
    SMS_PUBLIC_URL,
    TELEGRAM_SECRET,
    TWILIO_NUMBER,
    TWILIO_SID,
    TWILIO_TOKEN,
    rasa_log,
)

PER_CHANNEL = 1000


def test_fuzzed_signed_bodies_never_get_a_5xx(channel_stack):
    keys = Secrets(SLACK_SECRET, TELEGRAM_SECRET, TWILIO_TOKEN, TWILIO_SID, TWILIO_NUMBER, SMS_PUBLIC_URL)
    tracebacks = rasa_log(channel_stack).count("Traceback")
    report = fuzz(channel_stack.rasa_url, keys, PER_CHANNEL, seed=19)
    errors = {name: row["errors"] for name, row in report["channels"].items() if row["5xx"]}
    assert report["total_5xx"] == 0, errors
    # Mostly malformed: most were refused with a 4xx, not run as turns.
    for name, row in report["channels"].items():
        refused = sum(n for status, n in row["statuses"].items() if 400 <= status < 500)
        assert refused > PER_CHANNEL / 2, (name, row["statuses"])
    assert healthy(channel_stack.rasa_url, channel_stack.action_url)
    assert rasa_log(channel_stack).count("Traceback") == tracebacks
