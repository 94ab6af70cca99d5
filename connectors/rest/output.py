"""Collect the bot's replies for the HTTP response, without anything meant for the team.

The action server emits a `{"handoff": {...}}` payload (the transcript, the reason) for
the support team. Rasa's built-in REST channel returned it to whoever called the
webhook; here it goes to the team channel, like on every other channel, and the
customer's response keeps only customer-facing messages.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel

from connectors.common import handoff

# Payload keys that are for the support team only, never for a customer.
TEAM_ONLY_KEYS = ("handoff",)


def for_customer(custom: Any) -> Any:
    """`custom` without team-only keys; None when nothing is left for the customer."""
    if not isinstance(custom, dict):
        return custom
    kept = {key: value for key, value in custom.items() if key not in TEAM_ONLY_KEYS}
    return kept or None


class WebOutput(CollectingOutputChannel):
    def __init__(self, conversation: str, reply_to: str) -> None:
        super().__init__()
        self.conversation = conversation
        self.reply_to = reply_to  # the sender as the client knows it, not the namespaced id

    @classmethod
    def name(cls) -> str:
        return "rest"

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        if handoff.is_handoff(json_message):
            await handoff.forward(json_message, self.conversation, "rest")
        await super().send_custom_json(recipient_id, json_message, **kwargs)

    async def _persist_message(self, message: dict[str, Any]) -> None:
        if "custom" in message:
            custom = for_customer(message["custom"])
            if custom is None:
                message = {k: v for k, v in message.items() if k != "custom"}
                if not any(v for k, v in message.items() if k != "recipient_id"):
                    return  # it held team data only
            else:
                message = {**message, "custom": custom}
        message["recipient_id"] = self.reply_to
        self.messages.append(message)
