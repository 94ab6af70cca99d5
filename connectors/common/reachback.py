"""Reaching a customer outside their own turn: an agent's reply, a hand-back, a timeout.

Rasa sends what an action says to the output channel of the request that ran it. For a
customer's own message that is the connector's per-conversation output; for an external
intent triggered through Rasa's HTTP API with `output_channel=latest`, Rasa asks the input
channel the conversation last came through for `get_output_channel()`, which has no
conversation to go by. This output takes the conversation from the `recipient_id` Rasa
passes with every message and asks the channel to build that conversation's output
(Telegram: the chat in the id; SMS: the number kept encrypted for it; Slack: the channel
and thread in the id), so every platform needs only that one method.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel

logger = logging.getLogger(__name__)

OutputFor = Callable[[str], "OutputChannel | None"]


class ConversationOutput(OutputChannel):
    def __init__(self, channel_name: str, output_for: OutputFor) -> None:
        self.channel_name = channel_name
        self._output_for = output_for

    def name(self) -> str:  # type: ignore[override] - per instance: the channel it stands for
        return self.channel_name

    def _target(self, recipient_id: str) -> OutputChannel | None:
        output = self._output_for(recipient_id)
        if output is None:
            logger.warning(
                "%s: no way to reach conversation %s outside its own turn; message not delivered",
                self.channel_name,
                recipient_id,
            )
        return output

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        output = self._target(recipient_id)
        if output is not None:
            await output.send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        output = self._target(recipient_id)
        if output is not None:
            await output.send_text_message(recipient_id, text, **kwargs)
