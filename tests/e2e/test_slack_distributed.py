"""A Slack app any workspace installs: OAuth through slack-bolt, one token per workspace.

The real `rasa run` (Slack channel in distributed mode, loaded from a credentials file) and
the real action server; Slack is a stand-in that speaks the OAuth v2 token exchange, token
rotation and the Web API for several workspaces.
"""

from __future__ import annotations

import itertools
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from tests.e2e.channels import SLACK_SECRET, Reply, slack_event, user_events
from tests.standins.slack_oauth import CLIENT_ID, CLIENT_SECRET, SlackWorkspacesStandIn

_ids = itertools.count(1)
# T2's tokens expire within bolt's rotation window (120 min): they are rotated before use.
SHORT_LIVED = {"T2": 600}
# bolt's answer when no installation authorises a request (acknowledged, nothing run).
TEAM_CHANNEL = "C0DESK"  # the support team's channel, in workspace T1
NOT_INSTALLED = "installation with this app is no longer available"


@pytest.fixture(scope="module")
def workspaces():
    server = SlackWorkspacesStandIn(expires_in=SHORT_LIVED).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app_stack(tmp_path_factory, model, kb_uri, workspaces):
    from tests.e2e.conftest import running_stack

    tmp = tmp_path_factory.mktemp("slack-app")
    credentials = tmp / "credentials.yml"
    credentials.write_text(
        yaml.safe_dump(
            {
                "rasa_ext.server.NimbusServer": None,
                "connectors.slack.SlackInput": {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "signing_secret": SLACK_SECRET,
                    "api_base_url": workspaces.base_url,
                    "oauth_base_url": workspaces.url,
                    "installation_db": f"sqlite:///{tmp / 'installations.sqlite'}",
                    "handoff_channel": TEAM_CHANNEL,
                    "handoff_team": "T1",
                },
            }
        ),
        encoding="utf-8",
    )
    with running_stack(tmp, model, credentials, kb_uri, {"SLACK_HANDOFF_CHANNEL": TEAM_CHANNEL}) as stack:
        yield stack


def get(url: str, headers: dict[str, str] | None = None) -> Reply:
    request = urllib.request.Request(url, headers=headers or {})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            reply = Reply(
                answer.status,
                answer.read(),
                time.monotonic() - started,
                answer.headers.get("Content-Type", ""),
            )
            reply.headers = answer.headers  # type: ignore[attr-defined]
            return reply
    except urllib.error.HTTPError as exc:
        reply = Reply(exc.code, exc.read(), time.monotonic() - started, exc.headers.get("Content-Type", ""))
        reply.headers = exc.headers  # type: ignore[attr-defined]
        return reply


def install(stack, workspaces, team: str, forge_state: bool = False) -> Reply:
    """What a browser does: open the install page, follow "Add to Slack", come back with a code."""
    page = get(f"{stack.rasa_url}/webhooks/slack/install")
    assert page.status == 200, page.body
    link = re.search(r'href="([^"]+/oauth/v2/authorize\?[^"]+)"', page.body.decode()).group(1)
    query = urllib.parse.parse_qs(urllib.parse.urlparse(link.replace("&amp;", "&")).query)
    assert query["client_id"] == [CLIENT_ID] and "chat:write" in query["scope"][0]
    state = query["state"][0]
    cookie = page.headers.get("Set-Cookie").split(";")[0]  # type: ignore[attr-defined]
    if forge_state:
        state = "forged-" + state
    code = workspaces.code_for(team)
    return get(
        f"{stack.rasa_url}/webhooks/slack/oauth_redirect?code={code}&state={urllib.parse.quote(state)}",
        {"Cookie": cookie},
    )


def mention(team: str, text: str, channel: str) -> tuple[dict, str]:
    n = next(_ids)
    ts = f"{int(time.time())}.{n:06d}"
    event = {
        "type": "app_mention",
        "user": f"U{team}1",
        "text": f"<@UBOT{team}> {text}",
        "channel": channel,
        "ts": ts,
        "client_msg_id": f"msg-{team}-{n}",
        "event_ts": ts,
    }
    envelope = {
        "team_id": team,
        "api_app_id": "A0NIMBUS",
        "type": "event_callback",
        "event_id": f"Ev{team}{n:06d}",
        "event_time": int(time.time()),
        "event": event,
        "authorizations": [{"team_id": team, "user_id": f"UBOT{team}", "is_bot": True}],
    }
    return envelope, ts


def replies_in(workspaces, channel: str, thread_ts: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        posts = workspaces.calls(
            "chat.postMessage",
            lambda r: r.params.get("channel") == channel and r.params.get("thread_ts") == thread_ts,
        )
        if posts:
            return posts
        time.sleep(0.1)
    return []


def test_a_forged_oauth_state_is_refused_and_installs_nothing(app_stack, workspaces):
    before = len(workspaces.calls("oauth.v2.access"))
    reply = install(app_stack, workspaces, "T9", forge_state=True)
    assert reply.status >= 400
    assert len(workspaces.calls("oauth.v2.access")) == before  # the code was never exchanged
    envelope, ts = mention("T9", "hello", "C900")
    reply = slack_event(app_stack, envelope)
    # Acknowledged (Slack would retry anything else) and refused by bolt's authorisation,
    # which runs before any listener: no turn was started for a workspace never installed.
    assert reply.status == 200 and NOT_INSTALLED in reply.body.decode()
    assert not user_events(app_stack, f"slack:T9:C900:{ts}", 0)


def test_two_workspaces_install_and_each_is_answered_with_its_own_token(app_stack, workspaces):
    for team in ("T1", "T2"):
        reply = install(app_stack, workspaces, team)
        assert reply.status == 200, reply.body
    first, ts1 = mention("T1", "hello", "C100")
    second, ts2 = mention("T2", "hello", "C200")
    assert slack_event(app_stack, first).status == 200
    assert slack_event(app_stack, second).status == 200

    one, two = replies_in(workspaces, "C100", ts1), replies_in(workspaces, "C200", ts2)
    assert one and two
    tokens_one = {workspaces.token_of(r) for r in one}
    tokens_two = {workspaces.token_of(r) for r in two}
    assert all(workspaces.tokens.get(t) == "T1" for t in tokens_one)
    # T2's token was due to expire: it was rotated before the reply, and the old one retired.
    assert all(workspaces.tokens.get(t) == "T2" for t in tokens_two)
    refreshed = workspaces.calls("oauth.v2.access", lambda r: r.params.get("grant_type") == "refresh_token")
    assert refreshed and not (tokens_two & workspaces.retired)


def test_an_uninstalled_workspace_is_forgotten_and_its_events_get_no_turn(app_stack, workspaces):
    assert install(app_stack, workspaces, "T1").status == 200
    assert install(app_stack, workspaces, "T3").status == 200
    uninstalled = {
        "team_id": "T3",
        "api_app_id": "A0NIMBUS",
        "type": "event_callback",
        "event_id": "EvT3uninstall",
        "event_time": int(time.time()),
        "event": {"type": "app_uninstalled"},
    }
    assert slack_event(app_stack, uninstalled).status == 200

    later, ts = mention("T3", "hello", "C300")
    before = len(workspaces.requests)
    reply = slack_event(app_stack, later)
    assert reply.status == 200 and NOT_INSTALLED in reply.body.decode()
    still, ts_still = mention("T1", "hello", "C101")
    assert slack_event(app_stack, still).status == 200
    # The installed workspace is still answered; the uninstalled one got no turn, no API call.
    assert replies_in(workspaces, "C101", ts_still)
    assert not user_events(app_stack, f"slack:T3:C300:{ts}", 0)
    assert not [
        r
        for r in workspaces.requests[before:]
        if r.params.get("channel") == "C300" or "-T3-" in workspaces.token_of(r)
    ]


def test_a_handoff_from_another_workspace_reaches_the_team_channel_with_the_teams_own_token(
    app_stack, workspaces
):
    assert install(app_stack, workspaces, "T1").status == 200
    assert install(app_stack, workspaces, "T4").status == 200
    asked, ts = mention("T4", "I want to talk to a human", "C400")
    assert slack_event(app_stack, asked).status == 200

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not workspaces.calls(
        "chat.postMessage", lambda r: r.params.get("channel") == TEAM_CHANNEL
    ):
        time.sleep(0.1)
    notices = workspaces.calls("chat.postMessage", lambda r: r.params.get("channel") == TEAM_CHANNEL)
    assert notices, "the team was never told"
    assert f"slack:T4:C400:{ts}" in str(notices[0].params)
    # Posted in the team's own workspace (T1), never with the customer's workspace token.
    assert {workspaces.tokens.get(workspaces.token_of(r)) for r in notices} == {"T1"}
