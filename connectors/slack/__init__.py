"""Slack channel: `connectors.slack.SlackInput` in credentials.yml."""

from connectors.slack.channel import SlackInput
from connectors.slack.output import SlackOutput

__all__ = ["SlackInput", "SlackOutput"]
