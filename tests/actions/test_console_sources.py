"""The console's readers and drawings on their own: tracker stores (a real redis-server,
SQLite read-only), phone masking, and the channel previews' handling of hostile text."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from actions.console import adapter, preview
from actions.console.conversations import (
    RedisTrackerSource,
    SQLTrackerSource,
    mask_phones,
    open_handoffs,
    source_from_env,
)
from actions.render.base import RenderedMessage
from scripts.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]


def dialogue(sender: str, channel: str, handed_over: bool = False) -> str:
    """A tracker as Rasa's Redis tracker store saves it: `json.dumps(Dialogue.as_dict())`."""
    now = time.time()
    events = [
        {"event": "action", "timestamp": now, "name": "action_session_start"},
        {
            "event": "user",
            "timestamp": now + 1,
            "text": "my number is 07700 900123",
            "input_channel": channel,
        },
        {"event": "bot", "timestamp": now + 2, "text": "Thanks!", "data": {}},
    ]
    if handed_over:
        events += [
            {
                "event": "bot",
                "timestamp": now + 3,
                "data": {"custom": {"handoff": {"reason": "customer_asked"}}},
            },
            {"event": "slot", "timestamp": now + 3, "name": "handoff_active", "value": True},
        ]
    return json.dumps({"name": sender, "events": events})


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


def test_conversations_from_rasas_redis_tracker_store(redis_server):
    import redis

    client = redis.Redis(host=redis_server.host, port=redis_server.port)
    client.set("nimbus:tracker:+447700900123", dialogue("+447700900123", "sms", handed_over=True))
    client.set("nimbus:tracker:U123", dialogue("U123", "slack"))
    client.set("other:tracker:x", dialogue("x", "rest"))  # another deployment's prefix
    source = source_from_env({"REDIS_HOST": redis_server.host, "REDIS_PORT": str(redis_server.port)})
    assert isinstance(source, RedisTrackerSource)
    conversations = {c.conversation_id: c for c in source.recent(10)}
    assert set(conversations) == {"+••••••••••23", "U123"}
    sms = conversations["+••••••••••23"]
    assert sms.channel == "sms" and sms.turns[0]["text"] == "my number is •••••••••23"
    handoffs = open_handoffs(list(conversations.values()))  # no handoff records: from the slots
    assert [(h["conversation_id"], h["reason"]) for h in handoffs] == [("+••••••••••23", "customer_asked")]
    assert sms.handoff["reason"] == "customer_asked"


def test_a_missing_sqlite_tracker_is_no_conversations_and_is_not_created(tmp_path):
    path = tmp_path / "tracker.db"
    source = source_from_env({"TRACKER_DB": str(path)})
    assert isinstance(source, SQLTrackerSource)
    assert source.recent() == []
    assert not path.exists()


def test_tracker_url_wins_over_the_defaults(tmp_path):
    source = source_from_env({"TRACKER_URL": f"sqlite:///{tmp_path / 'x.db'}", "REDIS_HOST": "redis"})
    assert isinstance(source, SQLTrackerSource)


@pytest.mark.parametrize(
    "text,masked",
    [
        ("+1 (415) 555-0199", "+•••••••••99"),
        ("call 07700 900123 please", "call •••••••••23 please"),
        ("order 1234 on 2024-05-01", "order 1234 on 2024-05-01"),
        ("sms:4f1c2a9b", "sms:4f1c2a9b"),
        ("slack:T1:C1:1700000000.000100", "slack:T1:C1:1700000000.000100"),  # a thread, not a phone
        ("whatsapp:+14155550199", "whatsapp:+•••••••••99"),
    ],
)
def test_phone_numbers_are_masked_and_other_numbers_kept(text, masked):
    assert mask_phones(text) == masked


def test_slack_preview_escapes_text_and_links_only_web_addresses():
    html = preview.mrkdwn_to_html(
        "*Bold* &lt;script&gt;alert(1)&lt;/script&gt; <javascript:alert(1)|click> <https://x.example/a?b=1&amp;c=2|ok>"
    )
    assert "<b>Bold</b>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html and "click" in html
    assert 'href="https://x.example/a?b=1&amp;c=2"' in html


def test_slack_markers_inside_code_and_links_stay_literal():
    html = preview.mrkdwn_to_html("`*not bold*` and <https://x.example/|*label*>")
    assert "<b>" not in html and "*not bold*" in html


def test_slack_preview_draws_the_native_table_block_with_its_cells():
    """A table answer: Slack shows the rows in a table block, so the preview must too."""
    golden = ROOT / "tests" / "actions" / "golden" / "article_plan_comparison.slack.json"
    [message] = json.loads(golden.read_text(encoding="utf-8"))
    [entry] = preview.channel_previews("slack", [RenderedMessage(**message)])
    html = str(entry["html"])
    assert '<table class="sk-table">' in html
    assert "<td><b>Monthly price</b></td><td>$0</td><td>$4.99/month</td><td>$9.99/month</td>" in html


def test_slack_table_cells_are_escaped_and_link_only_web_addresses():
    def rich(*elements):
        return {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": list(elements)}]}

    block = {
        "type": "table",
        "rows": [
            [
                {"type": "raw_text", "text": "<script>alert(1)</script>"},
                rich({"type": "link", "url": "javascript:alert(1)", "text": "bad"}),
                rich({"type": "link", "url": "https://x.example/a?b=1&c=2", "text": "[1]"}),
            ]
        ],
    }
    html = str(preview.slack_html({"blocks": [block]}))
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript" not in html and "<td>bad</td>" in html
    assert 'href="https://x.example/a?b=1&amp;c=2"' in html and ">[1]</a>" in html


def test_telegram_preview_keeps_its_subset_and_reports_anything_else():
    safe, dropped = preview.sanitise_telegram(
        '<b>ok</b> <a href="https://x.example">link</a> <script>alert(1)</script>'
        '<img src=x onerror=alert(1)><a href="javascript:alert(1)" onclick="x()">bad</a>'
    )
    assert "<b>ok</b>" in safe and 'href="https://x.example"' in safe
    assert (
        "<script" not in safe and "<img" not in safe and "javascript:" not in safe and "onclick" not in safe
    )
    assert "alert(1)" in safe  # the script's text is shown as text, never run
    assert set(dropped) >= {"script", "img", "a[href]", "a[onclick]"}


def test_whatsapp_preview_styles_its_markup_and_escapes_everything_else():
    html = preview.whatsapp_to_html(
        "*Bold* _it_ ~old~ <script>alert(1)</script> <img src=x onerror=alert(1)>\n"
        "> quoted\n"
        "[1] Returns & refunds: https://x.example/a_b?c=1&d=<2>."
    )
    assert "<b>Bold</b>" in html and "<i>it</i>" in html and "<s>old</s>" in html
    assert "<script" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<span class="wa-quote">quoted</span>' in html
    # The URL is text in link colour (WhatsApp has no link syntax), never a live link here.
    assert "<a" not in html and "href" not in html
    assert '<span class="wa-url">https://x.example/a_b?c=1&amp;d=</span>&lt;2&gt;.' in html
    assert "Returns &amp; refunds" in html and html.count("\n") == 2


def test_whatsapp_markers_only_style_at_word_edges_and_stay_literal_in_code():
    html = preview.whatsapp_to_html("5 * 3 = 15, snake_case_names, `refund *now*` and ```echo _x_ > log```")
    assert "<b>" not in html and "<i>" not in html
    assert '<code class="wa-code">refund *now*</code>' in html
    assert '<code class="wa-pre">echo _x_ &gt; log</code>' in html


def test_whatsapp_preview_of_the_renderers_golden_answer():
    """The WhatsApp renderer's own output (its golden file) drawn as the app shows it."""
    golden = ROOT / "tests" / "actions" / "golden" / "markdown_specials.whatsapp.json"
    [message] = json.loads(golden.read_text(encoding="utf-8"))
    [entry] = preview.channel_previews("whatsapp", [RenderedMessage(**message)])
    html = str(entry["html"])
    assert "<b>5-7 business days</b>" in html and "<b>Sources</b>" in html
    assert '<span class="wa-url">https://help.nimbushome.example/articles/returns-and-refunds</span>' in html
    assert "*Sources*" not in html and "*5-7" not in html  # the markers are drawn, not shown
    assert "5 * 3 = 15" in html and "snake_case_names" in html and "a &lt; b &gt; c" in html
    assert entry["chars"] == len(message["json_message"]["whatsapp"]["text"]) < entry["limit"]


def test_earlier_turns_are_read_as_customer_and_bot_lines():
    turns = adapter.parse_turns(
        "how do I return it?\nbot: Start a return from your order [1].\n\nand the refund?"
    )
    assert [(t.role, t.text) for t in turns] == [
        ("customer", "how do I return it?"),
        ("assistant", "Start a return from your order [1]."),
        ("customer", "and the refund?"),
    ]


def test_refusal_previews_use_the_domains_channel_variants():
    assert "Reply HUMAN" in adapter.refusal_text("sms")
    assert "human" in adapter.refusal_text("slack") and "Reply HUMAN" not in adapter.refusal_text("slack")
