"""Twilio's inbound-message webhook: X-Twilio-Signature over the URL Twilio called, every
field in Twilio's own format, and the TwiML reply."""

from __future__ import annotations

import re
import urllib.parse

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from connectors.common.webhook import Rejected, check_headers, check_size, decode_utf8, media_type

# Twilio's own formats: a message SID is SM/MM + 32 hex digits, an account SID AC + 32.
# The signature has no separators between parameters, so a signed request can be re-split
# (`MessageSid=SMxNumMedia0`); checking every field's format refuses such forgeries.
_MESSAGE_SID = re.compile(r"^(?:SM|MM)[0-9a-fA-F]{32}$")
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_ADDRESS = re.compile(r"^(?:[a-z]+:)?\+?[0-9]{3,15}$")  # E.164, short code, whatsapp:+1...
_MEDIA_URL = re.compile(r"^MediaUrl(0|[1-9][0-9]?)$")
_COUNT = re.compile(r"^[0-9]{1,2}$")  # never int() of a 4,301-digit or "²" string
MAX_MEDIA = 10


def twiml(messages: list[str]) -> HTTPResponse:
    reply = MessagingResponse()
    for text in messages:
        reply.message(text)
    return response.text(str(reply), content_type="application/xml")


class TwilioWebhook:
    """Checks one Twilio account's signed webhook posts."""

    def __init__(self, account_sid: str, auth_token: str, public_url: str, max_body_bytes: int) -> None:
        self.account_sid = account_sid
        self.public_url = public_url
        self.max_body_bytes = max_body_bytes
        self.validator = RequestValidator(auth_token)

    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed: configured (behind a proxy) or as forwarded to us."""
        query = f"?{request.query_string}" if request.query_string else ""
        if self.public_url:
            return self.public_url if "?" in self.public_url else self.public_url + query
        proto = request.headers.get("X-Forwarded-Proto") or request.scheme
        host = request.headers.get("X-Forwarded-Host") or request.host
        return f"{proto}://{host}{request.path}{query}"

    def verify(self, request: Request) -> dict[str, str]:
        """The form fields of a genuinely signed post; `Rejected` otherwise."""
        check_headers(request)
        body = check_size(request, self.max_body_bytes)
        signature = request.headers.get("X-Twilio-Signature")
        if not signature:
            raise Rejected(401, "missing X-Twilio-Signature")
        if media_type(request) != "application/x-www-form-urlencoded":
            raise Rejected(415, "unsupported content type")
        try:
            pairs = urllib.parse.parse_qsl(decode_utf8(body), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise Rejected(400, "form field is not valid UTF-8") from None
        params = dict(pairs)
        if not self.validator.validate(self.signed_url(request), params, signature):
            raise Rejected(403, "invalid signature")
        return params

    def check_fields(self, params: dict[str, str]) -> int:
        """Refuse a message whose fields are not as Twilio sends them; returns NumMedia.

        Unknown fields (WhatsApp's ProfileName, geo fields, new ones) are allowed.
        """
        if not _MESSAGE_SID.match(params.get("MessageSid") or ""):
            raise Rejected(400, "missing or malformed MessageSid")
        if not _ACCOUNT_SID.match(params.get("AccountSid") or ""):
            raise Rejected(400, "missing or malformed AccountSid")
        if params["AccountSid"] != self.account_sid:
            raise Rejected(403, "message for another account")
        for field in ("From", "To"):
            if not _ADDRESS.match(params.get(field) or ""):
                raise Rejected(400, f"missing or malformed {field}")
        count = params.get("NumMedia", "0")
        if not _COUNT.match(count) or int(count) > MAX_MEDIA:
            raise Rejected(400, "malformed NumMedia")
        indexes = {int(m.group(1)) for key in params if (m := _MEDIA_URL.match(key))}
        if indexes != set(range(int(count))):
            raise Rejected(400, "NumMedia does not match the MediaUrl fields")
        return int(count)
