"""A confident answer's "See also" links (articles that ranked nearly as high) in every channel."""

from __future__ import annotations

import json

import pytest

from actions.render import renderer_for
from actions.render.sms import SmsRenderer
from knowledge.documents import Answer
from tests.actions.render_cases import CASES, CHANNELS, RETURNS

CASE = CASES["article_reset_steps_see_also"]


def text_of(channel: str) -> str:
    return json.dumps([m.as_kwargs() for m in renderer_for(channel).render(CASE)], ensure_ascii=False)


@pytest.mark.parametrize("channel", [c for c in CHANNELS if c != "sms"])  # SMS: below
def test_see_also_comes_after_the_sources_with_each_article_named(channel):
    text = text_of(channel)
    assert "See also" in text
    assert text.index("See also") > text.index("Reset your password")
    assert "Account security (PDF)" in text
    assert "locked" in text
    assert "unlock-your-account" in text


def test_rest_payload_lists_see_also_articles_apart_from_citations():
    payload = renderer_for("rest").render(CASE)[0].json_message
    assert [s["article_id"] for s in payload["see_also"]] == ["unlock", "security-pdf"]
    assert all(c["article_id"] != "unlock" for c in payload["citations"])


def test_an_answer_without_see_also_has_no_such_line():
    for channel in CHANNELS:
        messages = renderer_for(channel).render(CASES["article_reset_steps"])
        rendered = json.dumps([m.as_kwargs() for m in messages])
        assert "See also" not in rendered


def test_sms_see_also_only_in_the_room_the_answer_leaves():
    """The answer comes first: the links go in whatever room the budget leaves, else nowhere."""
    renderer = SmsRenderer(max_segments=3, link_base="nimbus.example/a")

    def sms(answer: Answer) -> str:
        return renderer.render(answer, feedback_ref="r1")[0].json_message["sms"]["text"]

    short = Answer(text="Refunds take 5-7 business days [1].", sources=[RETURNS], see_also=CASE.see_also)
    lines = sms(short).splitlines()
    assert lines[-2] == "See also: nimbus.example/a/unlock, Account security (PDF)"
    assert lines[-1] == "Reply 1 if this helped, 2 if not."  # the feedback prompt stays last

    # The room is what the answer leaves: with or without the links, the same answer text.
    def without_links(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("See also: ")]

    assert without_links(sms(CASE)) == sms(CASES["article_reset_steps"]).splitlines()
    long = CASES["long_answer"]
    with_links = sms(Answer(text=long.text, sources=long.sources, see_also=CASE.see_also))
    assert without_links(with_links) == sms(long).splitlines()
    # ... and no links at all when the answer leaves no room for even one.
    tight = SmsRenderer(max_segments=1, link_base="nimbus.example/a")
    assert "See also" not in tight.render(CASE)[0].json_message["sms"]["text"]
