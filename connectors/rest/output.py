"""Collect the bot's replies for the HTTP response, without anything meant for the team.

The action server emits a `{"handoff": {...}}` payload (the transcript, the reason) for
the support team. Rasa's built-in REST channel returned it to whoever called the
webhook; here it goes to the team channel, like on every other channel, and the
customer's response keeps only customer-facing messages.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel

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

    def for_caller(self) -> list[dict[str, Any]]:
        """What the bot said, as the HTTP caller may see it: payloads for the team dropped,
        each message addressed to the sender as the client named it (not the namespaced id)."""
        kept = []
        for message in self.messages:
            if "custom" in message:
                custom = for_customer(message["custom"])
                message = {k: v for k, v in message.items() if k != "custom"}
                if custom is not None:
                    message["custom"] = custom
                elif not any(v for k, v in message.items() if k != "recipient_id"):
                    continue  # it held team data only
            kept.append({**message, "recipient_id": self.reply_to})
        return kept
