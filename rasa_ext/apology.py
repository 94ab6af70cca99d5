"""What the customer gets when the action server is down, failing or too slow.

Rasa 3.6 catches a failed custom action inside the processor, logs it and says nothing:
the customer is left waiting for a reply that never comes, and no channel, policy or
component ever sees the failure. What does see it is the client Rasa calls the action
server with: the action endpoint (`EndpointConfig`, built from endpoints.yml). The server
channel (rasa_ext/server.py) puts `ActionServerClient` in its place on the loaded agent,
through the agent's public `action_endpoint` attribute, so plain `rasa run` gets it too.

It bounds each action call (`ACTION_TIMEOUT`, default 35 s; Rasa's own limit is five
minutes) and, when the action server cannot be reached, answers 5xx or is too slow,
answers for it the way an action server would: no events, and the domain response
`utter_action_failed` (or a built-in sentence if the domain lacks it), which Rasa then
utters like any action's response, in the channel's own variant. A deliberate rejection
(HTTP 400) still reaches Rasa, which hands it back to its policies.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from typing import Any

from rasa.utils.endpoints import ClientResponseError, EndpointConfig

log = logging.getLogger(__name__)

APOLOGY_RESPONSE = "utter_action_failed"
FALLBACK_RESPONSES = ("utter_kb_unavailable",)
DEFAULT_APOLOGY = "Sorry, something went wrong on my side. Please try again in a minute."
DEFAULT_TIMEOUT = 35.0
_PHONE_LIKE = re.compile(r"^\+?[\d\s().-]{7,}$")


def action_timeout() -> float:
    """Seconds to wait for the action server; must exceed the model's total budget."""
    raw = os.environ.get("ACTION_TIMEOUT", "").strip()
    try:
        return float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        log.warning("ACTION_TIMEOUT=%r is not a number; using %.0f s", raw, DEFAULT_TIMEOUT)
        return DEFAULT_TIMEOUT


def conversation_ref(sender_id: str) -> str:
    """The conversation id for logs; phone numbers (SMS senders) are hashed, never printed."""
    if _PHONE_LIKE.match(sender_id or ""):
        return "sha256:" + hashlib.sha256(sender_id.encode()).hexdigest()[:12]
    return sender_id or "-"


def describe(exc: BaseException, url: str | None = None) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return f"no answer within {action_timeout():.0f} s"
    if isinstance(exc, ClientResponseError):
        return f"the action server answered HTTP {exc.status}"
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    if isinstance(exc, OSError):  # aiohttp's connection errors are OSErrors
        return f"Couldn't connect to the server at {url}: {text}"
    return text


def apology_response(domain: dict | None) -> dict[str, Any]:
    """The action-server response that makes Rasa utter the apology. Rasa sends the domain
    with each call unless the action declares it needs none; then the bot's is assumed."""
    responses = (domain or {}).get("responses")
    if responses is None:
        return {"response": APOLOGY_RESPONSE}
    for name in (APOLOGY_RESPONSE, *FALLBACK_RESPONSES):
        if name in responses:
            return {"response": name}
    return {"text": DEFAULT_APOLOGY}


def log_failure(action_name: str, sender_id: str, reason: str) -> None:
    log.error(
        "custom action %s failed for conversation %s: %s; replied with an apology",
        action_name,
        conversation_ref(sender_id),
        reason,
    )


class ActionServerClient(EndpointConfig):
    """Rasa's client for the action server, which answers for the server when it cannot."""

    @classmethod
    def wrapping(cls, endpoint: EndpointConfig) -> ActionServerClient:
        client = cls(
            endpoint.url,
            endpoint.params,
            endpoint.headers,
            endpoint.basic_auth,
            endpoint.token,
            endpoint.token_name,
            endpoint.cafile,
            **endpoint.kwargs,
        )
        client.type = endpoint.type
        return client

    async def request(
        self,
        method: str = "post",
        subpath: str | None = None,
        content_type: str | None = "application/json",
        compress: bool = False,
        **kwargs: Any,
    ) -> Any:
        call = kwargs.get("json")
        if not isinstance(call, dict) or "next_action" not in call:  # not an action call
            return await super().request(method, subpath, content_type, compress, **kwargs)
        try:
            answer = await asyncio.wait_for(
                super().request(method, subpath, content_type, compress, **kwargs), timeout=action_timeout()
            )
        except ClientResponseError as exc:
            if exc.status == 400:
                raise  # a deliberate rejection goes back to Rasa's policies
            reason = describe(exc)
        except Exception as exc:  # noqa: BLE001 - any other failure means "no answer"
            reason = describe(exc, self.url)
        else:
            if isinstance(answer, dict):
                return answer
            reason = "the action server's answer was not JSON"
        log_failure(str(call["next_action"]), str(call.get("sender_id", "")), reason)
        return {"events": [], "responses": [apology_response(call.get("domain"))]}


def install(agent: Any) -> bool:
    """Put `ActionServerClient` in place of the loaded agent's action endpoint (and its
    processor's, which builds each custom action); a model loaded later gets it from the
    agent. False when there is no agent or no action endpoint."""
    endpoint = getattr(agent, "action_endpoint", None)
    if endpoint is None:
        return False
    if not isinstance(endpoint, ActionServerClient):
        agent.action_endpoint = ActionServerClient.wrapping(endpoint)
    if getattr(agent, "processor", None) is not None:
        agent.processor.action_endpoint = agent.action_endpoint
    return True
