"""A failed custom action gets the apology, through Rasa's own RemoteAction and a real
action-server address on loopback that is down, failing, rejecting or too slow."""

from __future__ import annotations

import asyncio
import logging
import socket
import types

import pytest
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from rasa_ext import apology

APOLOGY = "Sorry, the help centre is out of reach right now."
DOMAIN = {
    "actions": ["action_search_knowledge"],
    "slots": {"topic": {"type": "text", "mappings": [{"type": "custom"}]}},
    "responses": {
        "utter_action_failed": [{"text": APOLOGY}],
    },
}


async def action_server(behaviour: str) -> tuple[web.AppRunner, str]:
    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        if behaviour == "ok":
            return web.json_response(
                {
                    "events": [{"event": "slot", "name": "topic", "value": "shipping"}],
                    "responses": [{"text": f"answered {body['next_action']}"}],
                }
            )
        if behaviour == "reject":
            return web.json_response({"action_name": body["next_action"], "error": "not now"}, status=400)
        if behaviour == "hang":
            await asyncio.sleep(30)
        return web.Response(status=500, text="boom")

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # noqa: SLF001 - aiohttp's bound port
    return runner, f"http://127.0.0.1:{port}/webhook"


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/webhook"


def run_action(url: str, domain: dict = DOMAIN, channel: str = "rest") -> list:
    async def scenario() -> list:
        client = apology.ActionServerClient.wrapping(EndpointConfig(url=url, token="t0k"))
        rasa_domain = Domain.from_dict(domain)
        tracker = DialogueStateTracker("web:c-1", rasa_domain.slots)
        output = CollectingOutputChannel()
        output.name = lambda: channel  # noqa: E731 - the channel Rasa picks response variants by
        nlg = TemplatedNaturalLanguageGenerator(rasa_domain.responses)
        return await RemoteAction("action_search_knowledge", client).run(output, nlg, tracker, rasa_domain)

    return asyncio.run(scenario())


def with_server(behaviour: str, domain: dict = DOMAIN) -> list:
    async def scenario() -> list:
        runner, url = await action_server(behaviour)
        try:
            return await asyncio.get_running_loop().run_in_executor(None, run_action, url, domain)
        finally:
            await runner.cleanup()

    return asyncio.run(scenario())


def said(events: list) -> list[str]:
    return [e.text for e in events if isinstance(e, BotUttered)]


def test_an_answering_action_server_is_passed_through_untouched(caplog):
    events = with_server("ok")
    assert said(events) == ["answered action_search_knowledge"]
    assert SlotSet("topic", "shipping") in events
    assert "failed for conversation" not in caplog.text


@pytest.mark.parametrize(
    "behaviour,reason",
    [("error", "the action server answered HTTP 500"), ("hang", "no answer within 1 s")],
)
def test_a_failing_or_hung_action_server_gets_the_domain_s_apology(behaviour, reason, monkeypatch, caplog):
    monkeypatch.setenv("ACTION_TIMEOUT", "1")
    caplog.set_level(logging.ERROR)
    events = with_server(behaviour)
    assert said(events) == [APOLOGY]
    assert (
        f"custom action action_search_knowledge failed for conversation web:c-1: {reason}; "
        "replied with an apology"
    ) in caplog.text


def test_an_action_server_that_is_down_gets_the_apology_at_once(caplog):
    caplog.set_level(logging.ERROR)
    assert said(run_action(closed_port_url())) == [APOLOGY]
    assert "for conversation web:c-1: Couldn't connect to the server at http://127.0.0.1:" in caplog.text


def test_a_deliberate_rejection_still_goes_back_to_rasa():
    with pytest.raises(ActionExecutionRejection):
        with_server("reject")


def test_without_the_apology_response_the_built_in_sentence_is_said():
    domain = {**DOMAIN, "responses": {"utter_greet": [{"text": "hi"}]}}
    assert said(run_action(closed_port_url(), domain)) == [apology.DEFAULT_APOLOGY]


def test_install_replaces_the_loaded_agent_s_client_once_and_keeps_its_settings():
    endpoint = EndpointConfig(url="http://actions:5055/webhook", token="t0k", headers={"X-A": "1"})
    processor = types.SimpleNamespace(action_endpoint=endpoint)
    agent = types.SimpleNamespace(action_endpoint=endpoint, processor=processor)
    assert apology.install(agent)
    client = agent.action_endpoint
    assert isinstance(client, apology.ActionServerClient) and agent.processor.action_endpoint is client
    assert (client.url, client.token, client.headers) == (endpoint.url, "t0k", {"X-A": "1"})
    assert apology.install(agent) and agent.action_endpoint is client
    assert not apology.install(types.SimpleNamespace(action_endpoint=None, processor=None))
