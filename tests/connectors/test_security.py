"""Issue 19's findings, one test each at the level where the defence lives (the HTTP-level
checks against a real Rasa server are in tests/e2e/test_security.py)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import urllib.parse
from types import SimpleNamespace

import pytest
from twilio.request_validator import RequestValidator

from connectors.common.webhook import MAX_JSON_DEPTH, Rejected, parse_json, parse_json_object
from connectors.rest.access import check_access
from connectors.rest.channel import RestInput
from connectors.rest.output import WebOutput
from connectors.rest.senders import SenderSigner
from connectors.slack.events import from_event
from connectors.sms import SmsInput
from connectors.telegram.updates import classify
from tests.standins.telegram_api import BOT_ID, BOT_USERNAME

# --- 1. REST: its own namespace, local-only by default, signed senders, no team data --------


def fake_request(body: dict | None = None, ip: str = "127.0.0.1", **headers: str) -> SimpleNamespace:
    return SimpleNamespace(
        headers={k.lower().replace("_", "-"): v for k, v in headers.items()},
        conn_info=SimpleNamespace(client_ip=ip),
        body=json.dumps(body or {}).encode(),
        method="POST",
        path="/webhooks/rest/webhook",
    )


def rest_turn(channel: RestInput, request) -> tuple[list, list]:
    received: list = []

    async def on_new_message(message):
        received.append(message)
        await message.output_channel.send_text_message(message.sender_id, "A person will be with you.")
        await message.output_channel.send_custom_json(
            message.sender_id,
            {"handoff": {"conversation_id": message.sender_id, "transcript": [{"text": "card 4111"}]}},
        )
        await message.output_channel.send_custom_json(
            message.sender_id, {"type": "knowledge_answer", "answer": "x", "handoff": {"transcript": []}}
        )

    reply = asyncio.run(channel.handle(request, on_new_message))
    return json.loads(reply.body), received


def test_rest_sender_cannot_address_a_platform_conversation():
    # The action server tells the team (webhook or the Slack route) before this payload is
    # emitted; the REST output only has to keep it away from the caller.
    replies, received = rest_turn(
        RestInput(), fake_request({"sender": "telegram:7612345", "message": "human"})
    )
    assert received[0].sender_id == "web:telegram:7612345"
    # The customer sees the confirmation and the answer payload, never the transcript.
    assert "transcript" not in json.dumps(replies) and "4111" not in json.dumps(replies)
    assert replies[0] == {"recipient_id": "telegram:7612345", "text": "A person will be with you."}
    assert replies[1]["custom"] == {"type": "knowledge_answer", "answer": "x"}


@pytest.mark.parametrize(
    ("ip", "headers", "allowed"),
    [
        ("127.0.0.1", {}, True),
        ("::1", {}, True),
        ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, False),
        ("127.0.0.1", {"Forwarded": "for=203.0.113.9"}, False),
        ("10.0.0.7", {}, False),
    ],
)
def test_rest_without_token_is_loopback_only_and_never_behind_a_proxy(ip, headers, allowed):
    request = fake_request(ip=ip, **headers)
    if allowed:
        check_access(request, token="", widget=False)
    else:
        with pytest.raises(Rejected) as exc:
            check_access(request, token="", widget=False)
        assert exc.value.status == 403


def test_rest_with_token_needs_the_bearer_and_a_signed_sender():
    channel = RestInput(token="s3cret-token-value")
    sender = channel.signer.issue()
    with pytest.raises(Rejected) as missing:
        check_access(fake_request(ip="10.0.0.7"), channel.token, channel.widget)
    with pytest.raises(Rejected) as wrong:
        check_access(fake_request(ip="10.0.0.7", Authorization="Bearer nope"), channel.token, channel.widget)
    assert missing.value.status == wrong.value.status == 401
    ok = fake_request(
        {"sender": sender, "message": "hi"}, ip="10.0.0.7", Authorization="Bearer s3cret-token-value"
    )
    assert rest_turn(channel, ok)[1][0].sender_id == f"web:{sender}"
    forged = fake_request({"sender": "visitor-2", "message": "hi"}, Authorization="Bearer s3cret-token-value")
    with pytest.raises(Rejected) as unsigned:
        asyncio.run(channel.handle(forged, None))
    assert unsigned.value.status == 403


def test_widget_sender_ids_are_signed_and_cannot_be_made_up():
    signer = SenderSigner("key-1")
    issued = signer.issue()
    assert signer.valid(issued) and issued != signer.issue()
    visitor, tag = issued.split(".")
    other = visitor[:-1] + ("B" if visitor.endswith("A") else "A")
    assert not signer.valid(f"{other}.{tag}")  # another visitor, same tag
    assert not SenderSigner("key-2").valid(issued)
    assert not signer.valid("telegram:7612345")


# --- 2. header values that are not ASCII ---------------------------------------------------


def test_non_ascii_header_is_a_400_not_a_500():
    from connectors.common.webhook import check_headers

    # What Sanic makes of the raw bytes b"\xc3\xa9": a surrogate-escaped str.
    request = SimpleNamespace(
        headers={"x-slack-signature": b"v0=\xc3\xa9".decode("ascii", "surrogateescape")}
    )
    with pytest.raises(Rejected) as exc:
        check_headers(request)
    assert exc.value.status == 400


# --- 5. JSON depth and integer size ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "[" * 1000 + "]" * 1000,
        '{"a":' * 200 + "1" + "}" * 200,
        '{"update_id": ' + "9" * 4301 + "}",
        '{"update_id": ' + "9" * 41 + "}",
    ],
    ids=["array-1000", "object-200", "int-4301-digits", "int-41-digits"],
)
def test_deep_json_and_huge_integers_are_a_400(text):
    with pytest.raises(Rejected) as exc:
        parse_json_object(text.encode())
    assert exc.value.status == 400


def test_ordinary_nesting_and_ids_still_parse():
    nested = {"a": 1}
    for _ in range(MAX_JSON_DEPTH - 1):
        nested = {"a": nested}
    assert parse_json(json.dumps(nested)) == nested
    assert (
        parse_json('{"update_id": 123456789012345678901234567890}')["update_id"]
        == 123456789012345678901234567890
    )


# --- 4. Twilio: fields in Twilio's formats, so a re-split signed request is refused ------------

TWILIO_SID = "AC" + "0" * 31 + "1"
TWILIO_TOKEN = "twilio-auth-token-1"
URL = "https://bot.example.com/webhooks/sms/webhook"


def sms_channel() -> SmsInput:
    return SmsInput.from_credentials(
        {
            "account_sid": TWILIO_SID,
            "auth_token": TWILIO_TOKEN,
            "phone_number": "+15550001111",
            "public_url": URL,
            "optout_db": ":memory:",
            "dedupe_db": "memory",
        }
    )


def genuine(**extra: str) -> dict[str, str]:
    return {
        "MessageSid": "SM" + "ab" * 16,
        "AccountSid": TWILIO_SID,
        "From": "+14155550100",
        "To": "+15550001111",
        "Body": "hi",
        "NumMedia": "0",
        **extra,
    }


def test_twilio_resplit_signed_request_is_refused():
    params = genuine()
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(URL, params)
    # Twilio signs the concatenation key+value with no separators: move "NumMedia0" into
    # the MessageSid value and the signature still matches.
    resplit = {k: v for k, v in params.items() if k != "NumMedia"}
    resplit["MessageSid"] = params["MessageSid"] + "NumMedia0"
    assert RequestValidator(TWILIO_TOKEN).validate(URL, resplit, signature)
    with pytest.raises(Rejected) as exc:
        sms_channel().webhook.check_fields(resplit)
    assert exc.value.status == 400


@pytest.mark.parametrize(
    "params",
    [
        genuine(NumMedia="1", MediaUrl0="https://api.twilio.com/m/1", MediaContentType0="image/jpeg"),
        genuine(
            From="whatsapp:+14155550100", To="whatsapp:+15550001111", ProfileName="Ann", WaId="14155550100"
        ),
        genuine(MessageSid="MM" + "cd" * 16, FromCountry="US", SomeFieldTwilioAddsLater="x"),
    ],
    ids=["mms", "whatsapp", "unknown-fields"],
)
def test_genuine_twilio_messages_pass(params):
    assert sms_channel().webhook.check_fields(params) == int(params["NumMedia"])


@pytest.mark.parametrize(
    "change",
    [
        {"MessageSid": "SM1"},
        {"AccountSid": "AC" + "1" * 32},
        {"From": ""},
        {"To": "not a number"},
        {"NumMedia": "2", "MediaUrl0": "https://api.twilio.com/m/1"},
        {"NumMedia": "0", "MediaUrl0": "https://api.twilio.com/m/1"},
        {"NumMedia": "-1"},
        {"NumMedia": "9" * 4301},  # found by bench.fuzz_webhooks: int() of it raised
        {"NumMedia": "²"},
        {"NumMedia": "1", "MediaUrl" + "0" * 5000: "https://api.twilio.com/m/1"},
    ],
)
def test_malformed_twilio_fields_are_refused(change):
    with pytest.raises(Rejected):
        sms_channel().webhook.check_fields(genuine(**change))


# --- 6. SMS feedback words that are no carrier keyword ------------------------------------


def sms_turns(bodies: list[str]) -> tuple[list[str], list[str]]:
    received: list[str] = []

    async def on_new_message(message):
        received.append(message.text)

    async def scenario():
        channel = sms_channel()
        replies = []
        for n, body in enumerate(bodies):
            sid = "SM" + hashlib.md5(f"{body}{n}".encode()).hexdigest()
            replies.append(
                (await channel.handle(genuine(Body=body, MessageSid=sid), on_new_message)).body.decode()
            )
        await channel.runner.drain(5)
        return replies

    return asyncio.run(scenario()), received


def test_sms_feedback_digits_record_a_verdict_and_yes_stays_a_carrier_keyword():
    replies, received = sms_turns(["1", "2", "y", "N."])
    assert received == [
        "/feedback_helpful",
        "/feedback_unhelpful",
        "/feedback_helpful",
        "/feedback_unhelpful",
    ]
    replies, received = sms_turns(["YES"])
    assert received == [] and "subscribed again" in replies[0]


def test_more_in_five_languages_asks_for_the_rest_and_a_question_with_more_does_not():
    replies, received = sms_turns(["MORE", "more", "More!", "¿Más?", "mas", "MEHR", "suite.", "Mais"])
    assert received == ["/more"] * 8
    questions = ["more info about shipping", "more please", "tell me more", "Mehr Infos?", "mas o menos"]
    replies, received = sms_turns(questions)
    assert received == questions  # a question that uses the word goes to the bot as written


def test_more_changes_no_carrier_keyword_nor_the_feedback_digits():
    from connectors.twilio.keywords import HELP_WORDS, MORE_WORDS, START_WORDS, STOP_WORDS

    assert not MORE_WORDS & (STOP_WORDS | START_WORDS | HELP_WORDS | CARRIER_KEYWORDS)
    replies, received = sms_turns(["STOP", "more", "START", "MORE", "1", "HELP"])
    assert "unsubscribed" in replies[0] and "subscribed again" in replies[2] and "Reply STOP" in replies[5]
    assert received == ["/more", "/feedback_helpful"]  # nothing while opted out


CARRIER_KEYWORDS = {
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "START",
    "YES",
    "UNSTOP",
    "HELP",
    "INFO",
}


def test_sms_more_offer_names_no_carrier_keyword_and_the_digits_of_the_feedback_prompt():
    import re
    from pathlib import Path

    # Read, not imported: the actions' code is no part of the Rasa environment.
    source = (Path(__file__).parents[2] / "actions" / "render" / "sms.py").read_text()
    feedback = re.search(r'^FEEDBACK_PROMPT = "(.*)"$', source, re.M).group(1)
    offer = re.search(r'^MORE_PROMPT = "(.*)"$', source, re.M).group(1)
    words = set(re.findall(r"[A-Za-z]+", offer.upper()))
    assert "MORE" in words and not words & CARRIER_KEYWORDS
    assert offer.startswith("Reply MORE ") and offer.endswith(feedback[len("Reply ") :])


def test_sms_answer_prompt_names_no_carrier_keyword():
    import re
    from pathlib import Path

    source = (Path(__file__).parents[2] / "actions" / "render" / "sms.py").read_text()
    prompt = re.search(r'^FEEDBACK_PROMPT = "(.*)"$', source, re.M).group(1)
    words = set(re.findall(r"[A-Za-z]+", prompt.upper()))
    assert not words & CARRIER_KEYWORDS, prompt
    digits = re.findall(r"Reply (\w+)[^,]*, (\w+)", prompt)[0]
    assert all(d in ("1", "2") for d in digits)


# --- 7. slash text is text -------------------------------------------------------------------

SLASH = '/some_intent{"json": 1}'


def test_slash_text_never_names_an_intent_on_any_channel():
    slack = from_event(
        {
            "type": "event_callback",
            "team_id": "T1",
            "event_id": "Ev1",
            "event": {
                "type": "message",
                "channel_type": "im",
                "user": "U1",
                "text": SLASH,
                "channel": "D1",
                "ts": "1.1",
            },
        },
        "thread",
        "UBOT",
    )
    assert not slack.text.startswith("/")
    update = {
        "update_id": 1,
        "message": {"message_id": 5, "chat": {"id": 42, "type": "private"}, "from": {"id": 9}, "text": SLASH},
    }
    telegram = classify(update, BOT_USERNAME, BOT_ID)
    assert telegram.kind == "turn" and not telegram.text.startswith("/")
    _, sms_received = sms_turns([SLASH])
    assert not sms_received[0].startswith("/")
    _, rest_received = rest_turn(RestInput(), fake_request({"sender": "me", "message": "  " + SLASH}))
    assert not rest_received[0].text.startswith("/")


def test_our_own_payloads_still_name_intents():
    update = {
        "update_id": 1,
        "message": {
            "message_id": 5,
            "chat": {"id": 42, "type": "private"},
            "from": {"id": 9},
            "text": "/start",
        },
    }
    assert classify(update, BOT_USERNAME, BOT_ID).text == "/greet"
    button = '/feedback_helpful{"ref":"Ab3_x-9Z"}'
    _, received = rest_turn(RestInput(), fake_request({"sender": "me", "message": button}))
    assert received[0].text == button


# --- 8. metadata kept to what the bot needs, bounded ------------------------------------------


def test_huge_names_do_not_grow_the_tracker():
    name = "A" * 200_000
    update = {
        "update_id": 1,
        "message": {
            "message_id": 5,
            "chat": {"id": 42, "type": "private", "title": name},
            "from": {"id": 9, "first_name": name, "last_name": name, "username": name},
            "text": "hello",
        },
    }
    action = classify(update, BOT_USERNAME, BOT_ID)
    assert len(json.dumps(action.metadata)) < 1_000
    assert action.metadata["telegram"]["user_name"].startswith("AAAA")


def test_rest_output_drops_a_payload_that_is_only_for_the_team():
    async def scenario():
        out = WebOutput("web:me", "me")
        await out.send_response("web:me", {"custom": {"handoff": {"transcript": []}}})
        await out.send_response("web:me", {"text": "hello", "custom": {"handoff": {}, "kind": "answer"}})
        return out.for_caller()

    assert asyncio.run(scenario()) == [
        {"recipient_id": "me", "text": "hello"},
        {"recipient_id": "me", "custom": {"kind": "answer"}},
    ]


def test_form_encoded_interaction_payload_is_bounded_too():
    from connectors.slack import SlackInput

    channel = SlackInput("xoxb-1", "secret-1")
    body = urllib.parse.urlencode({"payload": "[" * 1000 + "]" * 1000}).encode()
    with pytest.raises(Rejected) as exc:
        channel._interaction_payload(body)
    assert exc.value.status == 400
