"""Custom actions reuse connections to the action server instead of opening one per call."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from rasa.utils.endpoints import EndpointConfig

from rasa_ext import action_session, patches


class ActionServer:
    """A loopback HTTP/1.1 keep-alive server that counts the connections it accepts."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.connections = 0
        self.requests: list[dict[str, str]] = []
        self.bodies: list[bytes] = []
        self._server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/webhook"

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                headers = {
                    k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                self.bodies.append(await reader.readexactly(int(headers.get("content-length", "0"))))
                self.requests.append(headers)
                await asyncio.sleep(self.delay)
                body = json.dumps({"events": [], "responses": []}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
def installed(monkeypatch):
    monkeypatch.delenv("ACTION_KEEPALIVE_SECONDS", raising=False)
    with patches.installed("action_session"):
        yield


async def calls(endpoint: EndpointConfig, n: int) -> list:
    return [
        await endpoint.request(json={"next_action": "action_search_knowledge"}, method="post")
        for _ in range(n)
    ]


def test_consecutive_actions_share_one_connection(installed):
    async def scenario() -> tuple[int, list]:
        server = ActionServer()
        async with server as url:
            results = await calls(EndpointConfig(url), 5)
            await action_session.close_sessions()
        return server.connections, results

    connections, results = asyncio.run(scenario())
    assert results == [{"events": [], "responses": []}] * 5  # Rasa still gets each reply
    assert connections == 1  # Rasa 3.6 alone: 5


def connections_for_three_calls() -> int:
    async def scenario() -> int:
        server = ActionServer()
        async with server as url:
            await calls(EndpointConfig(url), 3)
        return server.connections

    return asyncio.run(scenario())


def test_many_slow_actions_at_once_are_not_queued_behind_a_connection_cap(installed):
    # aiohttp's default pool holds 100 connections; the 150 customers waiting on the model
    # at the same moment must all reach the action server at once. Capped at 100, the last
    # 50 would wait for, and then reuse, the first 100 connections (two rounds of 0.5 s).
    async def scenario() -> int:
        server = ActionServer(delay=0.5)
        async with server as url:
            endpoint = EndpointConfig(url)
            await asyncio.gather(*(endpoint.request(json={}, method="post") for _ in range(150)))
            await action_session.close_sessions()
        return server.connections

    assert asyncio.run(scenario()) == 150


def test_endpoint_headers_and_credentials_still_sent_and_not_mixed(installed):
    async def scenario() -> list:
        server = ActionServer()
        async with server as url:
            await EndpointConfig(url, headers={"X-Team": "a"}).request(json={}, method="post")
            await EndpointConfig(url, basic_auth={"username": "u", "password": "p"}).request(
                json={}, method="post"
            )
            await EndpointConfig(url, headers={"X-Team": "a"}).request(json={}, method="post")
            await action_session.close_sessions()
        return server.requests

    first, second, third = asyncio.run(scenario())
    assert first["x-team"] == "a" and "authorization" not in first
    assert second["authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    assert "x-team" not in second
    assert third["x-team"] == "a" and "authorization" not in third


def test_keepalive_zero_restores_a_connection_per_call(installed, monkeypatch):
    monkeypatch.setenv("ACTION_KEEPALIVE_SECONDS", "0")
    assert connections_for_three_calls() == 3


def test_each_event_loop_gets_its_own_session(installed):
    # Tests and tools run several loops in one process; a session is bound to its loop, so a
    # second loop reusing the first one's session would fail ("Event loop is closed") or
    # share its connection.
    async def scenario() -> tuple[int, list, int]:
        server = ActionServer()
        async with server as url:
            results = await calls(EndpointConfig(url), 2)
            loop_sessions = [key for key in action_session._sessions if key[0] is asyncio.get_running_loop()]
            return server.connections, results, len(loop_sessions)

    expected = [{"events": [], "responses": []}] * 2
    assert asyncio.run(scenario()) == (1, expected, 1)
    assert asyncio.run(scenario()) == (1, expected, 1)  # a new connection on the new loop, reused


def test_the_action_server_receives_the_tracker_rasa_sent(installed):
    # The body is encoded by ujson now; the action server must read the same document.
    tracker = {
        "sender_id": "D0BENCH/123",
        "latest_message": {
            "text": "Où est ma facture ? 😀 </script>",
            "intent": {"confidence": 0.8731234567},
        },
        "events": [{"event": "user", "timestamp": 1764658800.123456 + i, "text": f"q{i}"} for i in range(50)],
        "slots": {"unanswered_count": 2.0, "handoff_active": False, "none": None, "big": 2**70},
    }
    payload = {"next_action": "action_search_knowledge", "tracker": tracker, "version": "3.6.21"}

    async def scenario() -> list[bytes]:
        server = ActionServer()
        async with server as url:
            await EndpointConfig(url).request(json=payload, method="post")
            await action_session.close_sessions()
        return server.bodies

    (body,) = asyncio.run(scenario())
    assert json.loads(body) == json.loads(json.dumps(payload))


def test_what_ujson_refuses_is_encoded_as_rasa_did():
    class Unknown:
        pass

    assert json.loads(action_session.encode_json({"a": [1, 2.5, "x/y"]})) == {"a": [1, 2.5, "x/y"]}
    with pytest.raises(TypeError):  # json.dumps's own error, as before
        action_session.encode_json({"a": Unknown()})
