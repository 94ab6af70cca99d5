"""The "these articles may help" reply in every channel: golden payloads and platform rules.

Regenerate the golden files (tests/actions/golden/suggestions*.json) with `UPDATE_GOLDEN=1`
after an intended change, and review the diff.
"""

from __future__ import annotations

import json
import re

import pytest

from actions.render import render_suggestions
from actions.render.sms import encoding, segments
from knowledge.documents import Answer, Source
from tests.actions.render_cases import CHANNELS, HELP, assert_golden

CASES = {
    "suggestions": Answer(
        text="",
        grounded=False,
        method="suggest",
        suggestions=[
            Source(1, "Reset your password", HELP + "reset-your-password", "reset-your-password"),
            Source(2, "Unlock a locked account", HELP + "unlock-your-account", "unlock-your-account"),
            Source(3, "Keep your Nimbus account secure", HELP + "secure-your-account", "secure-your-account"),
        ],
    ),
    # a title with characters every channel must escape, and an article without a link
    "suggestions_escaping": Answer(
        text="",
        grounded=False,
        method="suggest",
        suggestions=[
            Source(1, "Returns & refunds <EU> | UK", HELP + "return-policy?a=1&b=2", "return-policy"),
            Source(2, "Wiring guide (PDF)", "", "wiring-guide"),
        ],
    ),
}


def rendered(case: str, channel: str) -> list[dict]:
    return [m.as_kwargs() for m in render_suggestions(channel, CASES[case])]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case, channel):
    assert_golden(f"{case}.{channel}", rendered(case, channel))


@pytest.mark.parametrize("channel", CHANNELS)
def test_every_article_is_offered_with_its_link_and_no_feedback_buttons(channel):
    text = json.dumps(rendered("suggestions", channel), ensure_ascii=False)
    for source in CASES["suggestions"].suggestions:
        assert source.title in text
        slug = source.url.rsplit("/", 1)[1]
        assert slug in text
    assert "Helpful" not in text and "feedback" not in text and "buttons" not in text


def test_slack_links_are_mrkdwn_links_and_text_is_escaped():
    payload = rendered("suggestions_escaping", "slack")[0]["json_message"]["slack"]
    section = payload["blocks"][0]["text"]["text"]
    assert f"<{HELP}return-policy?a=1&amp;b=2|Returns &amp; refunds &lt;EU&gt; ¦ UK>" in section
    assert "Wiring guide (PDF)" in section and "<|" not in section
    assert all(len(b["text"]["text"]) < 3000 for b in payload["blocks"] if b["type"] == "section")


def test_telegram_is_valid_html_with_anchors():
    html = rendered("suggestions_escaping", "telegram")[0]["json_message"]["telegram"]["html"]
    assert f'<a href="{HELP}return-policy?a=1&amp;b=2">Returns &amp; refunds &lt;EU&gt; | UK</a>' in html
    assert re.sub(r"</?(a|b|i)( [^>]*)?>", "", html).count("<") == 0


def test_sms_stays_in_gsm7_within_the_segment_budget_and_keeps_at_least_one_article():
    text = rendered("suggestions", "sms")[0]["json_message"]["sms"]["text"]
    assert encoding(text) == "GSM-7" and segments(text) <= 3
    assert "help.nimbushome.example/articles/reset-your-password" in text
    one_segment = render_suggestions_sms(max_segments=1)
    assert "reset-your-password" in one_segment  # the best article always goes out


def render_suggestions_sms(max_segments: int) -> str:
    from actions.render.sms import render_suggestions as sms

    return sms(CASES["suggestions"], max_segments=max_segments)[0].json_message["sms"]["text"]


def test_rest_carries_the_articles_as_structured_data():
    message = rendered("suggestions", "rest")[0]
    assert message["json_message"]["type"] == "knowledge_suggestions"
    assert [a["article_id"] for a in message["json_message"]["articles"]] == [
        "reset-your-password",
        "unlock-your-account",
        "secure-your-account",
    ]
    assert f"- [Reset your password]({HELP}reset-your-password)" in message["text"]
