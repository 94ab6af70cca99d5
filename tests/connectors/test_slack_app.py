"""Slack on slack-bolt: settings for both modes, the Sanic adapter, and the shipped manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sanic.response import HTTPResponse
from slack_bolt.response import BoltResponse

from connectors.common.credentials import ChannelConfigError
from connectors.slack import SlackInput
from connectors.slack.app import SCOPES
from connectors.slack.bolt_adapter import to_sanic
from connectors.slack.events import from_event

MANIFEST = Path(__file__).resolve().parents[2] / "connectors" / "slack" / "manifest.yml"


def test_single_workspace_needs_a_bot_token_and_names_both_ways_to_give_one():
    with pytest.raises(ChannelConfigError, match="SLACK_BOT_TOKEN.*SLACK_CLIENT_ID"):
        SlackInput.from_credentials({"signing_secret": "s"})
    assert SlackInput.from_credentials({"bot_token": "xoxb-1", "signing_secret": "s"}).oauth is None


def test_distributed_mode_needs_the_client_secret_and_no_bot_token(tmp_path):
    with pytest.raises(ChannelConfigError, match="SLACK_CLIENT_SECRET"):
        SlackInput.from_credentials({"client_id": "1.2", "signing_secret": "s"})
    channel = SlackInput.from_credentials(
        {"client_id": "1.2", "client_secret": "c", "signing_secret": "s", "installation_db": "sqlite://"}
    )
    assert channel.oauth is not None and channel.oauth.client_id == "1.2"
    with pytest.raises(ChannelConfigError, match="socket_mode"):
        SlackInput.from_credentials(
            {
                "client_id": "1.2",
                "client_secret": "c",
                "signing_secret": "s",
                "socket_mode": "true",
                "app_token": "x",
            }
        )


def test_every_cookie_of_a_bolt_answer_reaches_the_browser():
    """bolt's own Sanic adapter fails here: Sanic 21 has no add_cookie."""
    answer = BoltResponse(
        status=302,
        body="",
        headers={"Location": "https://slack.example/x", "Set-Cookie": ["a=1; Path=/", "b=2; Path=/; Secure"]},
    )
    response = to_sanic(answer)
    assert isinstance(response, HTTPResponse) and response.status == 302
    assert response.headers.getall("set-cookie") == ["a=1; Path=/", "b=2; Path=/; Secure"]
    assert response.headers["location"] == "https://slack.example/x"


def test_the_manifest_asks_for_exactly_the_scopes_the_install_link_requests():
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(SCOPES)
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_mention", "message.im", "app_uninstalled", "tokens_revoked"} <= events
    for url in (
        manifest["settings"]["event_subscriptions"]["request_url"],
        manifest["settings"]["interactivity"]["request_url"],
        *manifest["oauth_config"]["redirect_urls"],
    ):
        assert url.startswith("https://YOUR-HOST/webhooks/slack/")


def test_conversations_of_two_workspaces_never_meet():
    def mention(team: str) -> dict:
        event = {"type": "app_mention", "user": "U1", "text": "hi", "channel": "C1", "ts": "1.1"}
        return {"type": "event_callback", "team_id": team, "event_id": f"Ev{team}", "event": event}

    one, two = from_event(mention("T1"), "thread", "UBOT"), from_event(mention("T2"), "thread", "UBOT")
    assert one.sender_id != two.sender_id and one.sender_id.startswith("slack:T1:")
