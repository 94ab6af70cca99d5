"""SMS channel (Twilio): `connectors.sms.SmsInput` in credentials.yml."""

from connectors.sms.channel import SmsInput
from connectors.sms.output import SmsOutput

__all__ = ["SmsInput", "SmsOutput"]
