"""The steps of a handoff, named once for the action server (which keeps the records and
the deadlines) and the connectors (the Slack agent desk, which shows each step in the
handoff's thread and turns an agent's reply or button press into one of them).

Events travel as JSON to every handoff destination (the team webhook and the Slack
connector's `/webhooks/slack/handoff` route), each with `event`, `handoff_id` and
`conversation_id`. Agent actions reach the dialogue as external intents through Rasa's
HTTP API (`trigger_intent`), so the action server sees them whatever tool sent them.
"""

from __future__ import annotations

# Webhook / desk events, one per step.
OPENED = "handoff_requested"  # + channel, reason, transcript
CUSTOMER_MESSAGE = "customer_message"  # + text, time
AGENT_MESSAGE = "agent_message"  # + agent, text: what an agent sent the customer
CLAIMED = "handoff_claimed"  # + agent
WAITING = "handoff_waiting"  # nobody claimed it in time; the customer was told (+ opens_at)
RESOLVED = "handoff_resolved"  # + agent, outcome ("handed_back" or "timed_out")
EVENTS = (OPENED, CUSTOMER_MESSAGE, AGENT_MESSAGE, CLAIMED, WAITING, RESOLVED)

# External intents (bot/domain.yml); an agent's tool triggers them through Rasa's HTTP API.
CLAIM_INTENT = "EXTERNAL_handoff_claimed"
RESOLVE_INTENT = "EXTERNAL_handoff_resolved"
AGENT_MESSAGE_INTENT = "EXTERNAL_agent_message"
# Triggered by the action server's own timer when a deadline passes.
WAITING_INTENT = "EXTERNAL_handoff_waiting"
EXPIRED_INTENT = "EXTERNAL_handoff_expired"

# Entities of those intents: who acted, and (agent messages) what they wrote, in Slack mrkdwn.
AGENT_ENTITY = "agent"
AGENT_TEXT_ENTITY = "agent_text"

# Outcomes of a closed handoff.
HANDED_BACK = "handed_back"
TIMED_OUT = "timed_out"
