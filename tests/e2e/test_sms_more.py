"""SMS "Reply MORE" end to end (issue 18): Twilio-signed webhooks into the real Rasa server
(the retrained model: intent `more`, its rule and slot) and the real action server.

An answer that leaves out part of what the REST-budget answer says ends with the offer;
MORE then brings the rest, with the fact the short answer lacked, in one longer SMS; MORE
with nothing to continue gets the polite reply; STOP/START and the digits are unchanged.
With the OpenAI stand-in configured (as for every channel test), the short answer is the
model's; MORE quotes the articles' sections (knowledge/service.py, `quoted`)."""

from __future__ import annotations

from tests.e2e.channels import rasa_log, sms_conversation, sms_webhook
from tests.e2e.redis_stack import wait_for_log
from tests.e2e.settled import stored_turn
from tests.e2e.test_sms_channel import inbound, number, said

OFFER = "Reply MORE for the rest, 1 if this helped, 2 if not."
FEEDBACK = "Reply 1 if this helped, 2 if not."
NOTHING_MORE = "That's everything I have on that. Text another question, or reply HUMAN for a person."
QUESTION = "how do I unlock my account"
FACT = "15 minutes"


def texts(stack, twilio_api, sender: str, body: str) -> list[str]:
    """What the customer receives for `body`: in the TwiML reply, or (a slow turn) sent
    through the Messages API."""
    seen = len(twilio_api.calls("Messages", lambda r: r.params.get("To") == sender))
    reply = sms_webhook(stack, inbound(body, sender))
    assert reply.status == 200
    got = said(reply)
    if got:
        return got
    sent = twilio_api.wait_for("Messages", where=lambda r: r.params.get("To") == sender, timeout=60)
    return [m.params["Body"] for m in sent[seen:]]


def test_an_answer_that_leaves_a_fact_out_offers_more_and_more_brings_it(channel_stack, twilio_api):
    sender = number()
    [answer] = texts(channel_stack, twilio_api, sender, QUESTION)
    assert answer.endswith(OFFER) and FACT not in answer
    [rest] = texts(channel_stack, twilio_api, sender, "More")
    assert FACT in rest and rest.endswith(FEEDBACK) and "MORE" not in rest
    assert len(rest) <= 1600 and len(rest) > len(answer)
    # the digits judge the answer, also after its rest
    assert texts(channel_stack, twilio_api, sender, "1") == ["Glad that helped!"]
    # once sent, there is nothing more to continue
    assert texts(channel_stack, twilio_api, sender, "MORE") == [NOTHING_MORE]
    conversation = sms_conversation(sender)
    stored_turn(channel_stack, conversation, "/feedback_helpful")
    wait_for_log(channel_stack, "actions", "sent the rest of the answer")
    actions_log = (channel_stack.log_dir / "actions.log").read_text(errors="replace")
    for log in (actions_log, rasa_log(channel_stack)):
        assert sender not in log and sender.lstrip("+") not in log


def test_more_with_nothing_before_gets_the_polite_reply(channel_stack, twilio_api):
    sender = number()
    assert texts(channel_stack, twilio_api, sender, "more") == [NOTHING_MORE]
    # a question that uses the word is a question, not the keyword
    [answer] = texts(channel_stack, twilio_api, sender, "more info about the warranty")
    assert answer != NOTHING_MORE


def test_opt_out_keywords_are_unaffected(channel_stack, twilio_api):
    sender = number()
    [answer] = texts(channel_stack, twilio_api, sender, QUESTION)
    assert answer.endswith(OFFER)
    assert "unsubscribed" in said(sms_webhook(channel_stack, inbound("STOP", sender)))[0]
    silent = sms_webhook(channel_stack, inbound("MORE", sender))
    assert silent.status == 200 and b"<Message>" not in silent.body  # opted out: no reply at all
    assert "subscribed again" in said(sms_webhook(channel_stack, inbound("START", sender)))[0]
    assert b"Reply STOP" in sms_webhook(channel_stack, inbound("HELP", sender)).body
    # the offer made before STOP still stands: MORE after START brings the rest
    [rest] = texts(channel_stack, twilio_api, sender, "more")
    assert FACT in rest
