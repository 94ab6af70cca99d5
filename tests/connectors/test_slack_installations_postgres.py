"""A distributed Slack app on several replicas, its installations in one PostgreSQL database.

Two Slack channels built from credentials as Rasa builds them, both with `installation_db`
pointing at the same real PostgreSQL (one as `postgresql://`, one in the `postgres://`
form hosting platforms hand out), each with its own bolt app: the install page is served
by one replica, Slack's redirect lands on the other, and the workspace is then authorised
on the first. Slack's side is the OAuth stand-in (`oauth.v2.access`, `auth.test`).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import urllib.parse

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest

from connectors.slack import SlackInput
from tests.standins.slack_oauth import CLIENT_ID, CLIENT_SECRET, SlackWorkspacesStandIn


@pytest.fixture
def workspaces():
    server = SlackWorkspacesStandIn().start()
    yield server
    server.stop()


def replica(url: str, workspaces: SlackWorkspacesStandIn) -> SlackInput:
    return SlackInput.from_credentials(
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "signing_secret": "s",
            "installation_db": url,
            "api_base_url": workspaces.base_url,
            "oauth_base_url": workspaces.url,
            "dedupe_db": "memory",
        }
    )


async def noop(_message) -> None:  # no message is handled here
    return None


async def install_page(channel: SlackInput) -> tuple[str, str]:
    """The state in the "Add to Slack" link and the cookie that goes with it."""
    page = await channel.bolt(noop).oauth_flow.handle_installation(
        AsyncBoltRequest(body="", query={}, headers={})
    )
    assert page.status == 200, page.body
    link = re.search(r'href="([^"]+/oauth/v2/authorize\?[^"]+)"', page.body).group(1)
    state = urllib.parse.parse_qs(urllib.parse.urlparse(link.replace("&amp;", "&")).query)["state"][0]
    cookie = page.headers["set-cookie"][0].split(";")[0]
    return state, cookie


async def come_back(channel: SlackInput, team: str, state: str, cookie: str) -> int:
    """Slack's redirect after the admin approved: code and state, the browser's cookie."""
    answer = await channel.bolt(noop).oauth_flow.handle_callback(
        AsyncBoltRequest(
            body="",
            query={"code": SlackWorkspacesStandIn.code_for(team), "state": state},
            headers={"cookie": cookie},
        )
    )
    return answer.status


def test_a_workspace_installed_through_one_replica_is_served_by_another(postgres, workspaces, tmp_path):
    url = postgres.create_database(f"slack_{secrets.token_hex(4)}")
    first = replica(url, workspaces)
    second = replica(url.replace("postgresql://", "postgres://", 1), workspaces)
    assert first.installations.engine.dialect.name == "postgresql"
    assert second.installations.engine.dialect.name == "postgresql"

    async def scenario() -> tuple:
        state, cookie = await install_page(first)
        installed = await come_back(second, "T1", state, cookie)
        replayed = await come_back(first, "T2", state, cookie)  # the same state again
        bot = await first.installations.async_find_bot(enterprise_id=None, team_id="T1")
        other = await first.installations.async_find_bot(enterprise_id=None, team_id="T2")
        await second.installations.async_delete_all(enterprise_id=None, team_id="T1")
        gone = await first.installations.async_find_bot(enterprise_id=None, team_id="T1")
        for channel in (first, second):
            await channel.after_drain()  # the server's shutdown: closes the Web API session
        return installed, replayed, bot, other, gone

    installed, replayed, bot, other, gone = asyncio.run(scenario())
    assert installed == 200
    # The state was issued by the first replica and consumed by the second: once only.
    assert replayed != 200 and other is None
    assert bot is not None and workspaces.team_of(bot.bot_token) == "T1"
    assert bot.bot_refresh_token and bot.bot_token_expires_at  # what rotation needs, on any replica
    assert gone is None  # an uninstall seen by one replica is seen by all
    for channel in (first, second):
        channel.installations.engine.dispose()
