"""The conversation id of a Twilio channel (SMS, WhatsApp): a keyed hash of the phone
number, never the number itself.

Rasa and the action server log and store conversation ids (tracker, feedback, handoff
notices), and the action server runs in another process, beyond the connectors' log
masking. A keyed HMAC is stable per number, so the conversation continues across
messages, but cannot be turned back into the number (nor checked by guessing numbers)
without the key. The real number stays with the reply path only.
"""

from __future__ import annotations

import hashlib
import hmac
import re


def conversation_id(number: str, key: str, channel: str = "sms") -> str:
    canonical = re.sub(r"[^\d+]", "", number)
    digest = hmac.new(key.encode("utf-8"), canonical.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{channel}:{digest[:24]}"
