"""REST / web widget channel: `connectors.rest.RestInput` in credentials.yml (key `rest`'s
replacement), at Rasa's usual path `POST /webhooks/rest/webhook`."""

from connectors.rest.channel import RestInput
from connectors.rest.output import WebOutput

__all__ = ["RestInput", "WebOutput"]
