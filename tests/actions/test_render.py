"""Golden and limit tests for the channel renderers.

Golden files (tests/actions/golden/<case>.<channel>.json) hold the exact payloads; they
were reviewed by eye when written. After an intended change to a renderer, regenerate
them with `UPDATE_GOLDEN=1` and review the diff. The limit tests check the platform
rules on every case, whatever the golden files say.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from actions.render import renderer_for
from actions.render.base import feedback_payload
from actions.render.sms import SmsRenderer, encoding, segments
from actions.render.telegram import utf16_len
from tests.actions.render_cases import CASES, CHANNELS, assert_golden

REF = "Ab3_x-9Z"


def rendered(case: str, channel: str) -> list[dict]:
    return [m.as_kwargs() for m in renderer_for(channel).render(CASES[case], feedback_ref=REF)]


@pytest.mark.parametrize("channel", CHANNELS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case, channel):
    assert_golden(f"{case}.{channel}", rendered(case, channel))


# --- Slack ---------------------------------------------------------------------------

SLACK_LINK = re.compile(r"<(https?://[^|<>\s]+)\|([^<>]*)>")


def slack_payloads(case: str) -> list[dict]:
    return [m["json_message"]["slack"] for m in rendered(case, "slack")]


def _without_links(text: str) -> str:
    return re.sub(r"(?m)^> ", "", SLACK_LINK.sub("", text))


@pytest.mark.parametrize("case", sorted(CASES))
def test_slack_respects_block_kit_limits_and_escapes_text(case):
    for payload in slack_payloads(case):
        blocks = payload["blocks"]
        assert len(blocks) <= 50
        for block in blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) < 3000
                # Outside link syntax no raw < or > may remain (they would be read as markup).
                assert not re.search(r"[<>]", _without_links(block["text"]["text"])), block
        assert "<" not in payload["text"] and payload["text"].strip()


def test_slack_citations_link_inline_and_sources_are_listed_once():
    payload = slack_payloads("url_parens_underscore")[0]
    text = payload["blocks"][0]["text"]["text"]
    assert "<https://help.nimbushome.example/articles/wifi_setup_(2024)|[2]>" in text
    assert "<https://help.nimbushome.example/articles/wifi_setup_(2024)|setup guide>" in text
    assert "<https://example.com/docs/reset_(hard)_guide|" in text
    # The bracketed URL ends at its own `)`, not at the sentence's.
    assert "<https://example.com/legacy_models|https://example.com/legacy_models>)" in text
    context = next(b for b in payload["blocks"] if b["type"] == "context")
    sources = "\n".join(e["text"] for e in context["elements"])
    assert sources.startswith("*Sources*")
    assert sources.count("[1] Returns &amp; refunds") == 1 and sources.count("|[2] Thermostat") == 1


def test_slack_citation_without_url_is_plain():
    payload = slack_payloads("citation_without_url")[0]
    text = payload["blocks"][0]["text"]["text"]
    assert "manual [3]." in text and "|[3]>" not in text
    context = next(b for b in payload["blocks"] if b["type"] == "context")
    assert "[3] Installer manual (PDF), page 12" in context["elements"][0]["text"]


def test_slack_long_answer_keeps_all_its_text_across_sections():
    payload = slack_payloads("long_answer")[0]
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert len(sections) >= 4
    assert sum(s.count("restores it within a few minutes") for s in sections) == 70
    assert sum(s.count("hold *Menu* for") for s in sections) == 8


def test_slack_feedback_buttons_carry_the_answer_reference():
    payload = slack_payloads("markdown_specials")[0]
    actions = payload["blocks"][-1]
    values = [e["value"] for e in actions["elements"]]
    assert values == [
        '/feedback_helpful{"ref":"Ab3_x-9Z"}',
        '/feedback_unhelpful{"ref":"Ab3_x-9Z"}',
        "/request_human",
    ]
    assert len({e["action_id"] for e in actions["elements"]}) == 3


# --- Telegram ------------------------------------------------------------------------

ALLOWED_TAGS = {"b", "i", "s", "u", "code", "pre", "a", "blockquote"}


class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.visible: list[str] = []
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None

    def handle_starttag(self, tag, attrs):
        assert tag in ALLOWED_TAGS, tag
        self.stack.append(tag)
        if tag == "a":
            self._href = dict(attrs)["href"]
            self.links.append((self._href, ""))

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"

    def handle_data(self, data):
        self.visible.append(data)
        if self.stack and self.stack[-1] == "a":
            href, label = self.links[-1]
            self.links[-1] = (href, label + data)


def telegram_parts(case: str) -> list[dict]:
    return [m["json_message"]["telegram"] for m in rendered(case, "telegram")]


def check_html(text: str) -> _TagChecker:
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    assert not checker.stack, f"unclosed tags {checker.stack}"
    return checker


@pytest.mark.parametrize("case", sorted(CASES))
def test_telegram_parts_are_valid_html_under_the_limit(case):
    parts = telegram_parts(case)
    for part in parts:
        checker = check_html(part["html"])
        assert utf16_len("".join(checker.visible)) <= 4096
        assert utf16_len(part["html"]) <= 4096
    assert all("buttons" not in p for p in parts[:-1]) and "buttons" in parts[-1]


def test_telegram_long_answer_is_split_without_losing_text():
    parts = telegram_parts("long_answer")
    assert len(parts) >= 3
    visible = "".join("".join(check_html(p["html"]).visible) for p in parts)
    assert visible.count("restores it within a few minutes <usually under five>") == 70
    assert visible.count("reset --keep-schedule") == 1
    assert "Sources" in parts[-1]["html"]


def test_telegram_citations_are_links_and_text_is_escaped():
    parts = telegram_parts("url_parens_underscore")
    checker = check_html(parts[0]["html"])
    assert ("https://help.nimbushome.example/articles/wifi_setup_(2024)", "[2]") in checker.links
    assert ("https://example.com/docs/reset_(hard)_guide", "https://example.com/docs/reset_(hard)_guide") in (
        checker.links
    )
    specials = telegram_parts("markdown_specials")[0]["html"]
    assert "5 * 3 = 15 &amp; a &lt; b &gt; c" in specials
    assert "<code>refund &lt;order#&gt; &amp; *now*</code>" in specials
    assert "Returns &amp; refunds</a>" in specials


def test_telegram_citation_without_url_is_plain_text():
    html = telegram_parts("citation_without_url")[0]["html"]
    assert "manual [3]." in html and ">[3]<" not in html
    assert "\n[3] Installer manual (PDF), page 12" in html


def test_telegram_callback_data_fits_64_bytes():
    buttons = telegram_parts("markdown_specials")[-1]["buttons"]
    data = [b["callback_data"] for row in buttons for b in row]
    assert data[0] == feedback_payload("feedback_helpful", REF)
    assert all(len(d.encode()) <= 64 for d in data)


# --- SMS -----------------------------------------------------------------------------


def sms_text(case: str, **options) -> str:
    renderer = SmsRenderer(**options) if options else renderer_for("sms")
    messages = renderer.render(CASES[case], feedback_ref=REF)
    assert len(messages) == 1
    return messages[0].json_message["sms"]["text"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_sms_stays_within_three_segments_and_1600_characters(case):
    text = sms_text(case)
    assert len(text) <= 1600 and segments(text) <= 3
    assert "**" not in text and "](" not in text and "```" not in text


def test_sms_smart_punctuation_is_normalised_to_gsm7():
    text = sms_text("sms_smart_punctuation")
    assert encoding(text) == "GSM-7"
    assert text.startswith('You\'ll get a "refund" in 5-7 days - usually sooner... [1]')
    assert "[1] help.nimbushome.example/articles/returns-and-refunds" in text


def test_sms_emoji_and_cyrillic_use_ucs2_and_are_cut_at_a_sentence_end():
    text = sms_text("sms_emoji_and_cyrillic")
    assert encoding(text) == "UCS-2" and segments(text) <= 3
    body = text.split("\n")[0]
    assert body.startswith("Ваш возврат оформлен 📦")
    assert re.search(r"[.!?](\s*\[\d\])?$", body), body  # whole sentences only
    assert len(body) < len(CASES["sms_emoji_and_cyrillic"].text)


def test_sms_long_answer_cut_at_sentence_and_lists_the_sources_it_cites():
    text = sms_text("long_answer")
    lines = text.split("\n")
    assert lines[-1] == "Reply 1 if this helped, 2 if not."
    body = "\n".join(line for line in lines if not line.startswith("[") and line != lines[-1])
    assert body.rstrip().endswith(("].", "]", "."))
    cited = set(re.findall(r"\[(\d)\]", CASES["long_answer"].text))
    listed = {line[1] for line in lines if re.match(r"\[\d\] ", line)}
    assert cited == listed


def test_sms_answer_cut_before_its_citation_still_links_the_article():
    """An extractive answer cites its section once, at the end: a cut keeps the link."""
    text = sms_text("article_plan_comparison")
    assert "Free: $0; Plus: $4.99/month; Pro: $9.99/month" in text
    assert "[1] help.nimbushome.example/articles/plans-and-pricing" in text
    assert segments(text) <= 3


def test_sms_source_without_url_is_named_and_budget_is_configurable():
    text = sms_text("citation_without_url")
    assert "[3] Installer manual (PDF)" in text
    one = sms_text("long_answer", max_segments=1, link_base="nimbus.example/a")
    assert segments(one) == 1 and "nimbus.example/a/" in one


def test_sms_segment_counting():
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2
    assert segments("[" * 80) == 1 and segments("[" * 81) == 2  # extension characters count twice
    assert segments("ж" * 70) == 1 and segments("ж" * 71) == 2
    assert segments("📦" * 35) == 1 and segments("📦" * 36) == 2  # surrogate pairs


# --- structure from the real articles: tables, steps, nested lists ------------------------


def test_slack_first_table_is_a_native_table_block_and_later_tables_read_as_rows():
    payload = slack_payloads("article_two_tables")[0]
    tables = [b for b in payload["blocks"] if b["type"] == "table"]
    assert len(tables) == 1  # Slack allows one table per message
    rows = tables[0]["rows"]
    assert len(rows) == 4 and all(len(row) == 3 for row in rows)
    header = [c["elements"][0]["elements"][0]["text"] for c in rows[0]]
    assert header[1:] == ["Restart", "Factory reset"]
    assert rows[2][0] == {"type": "raw_text", "text": "Keeps Wi-Fi, schedules and settings"}
    texts_after = "\n".join(b["text"]["text"] for b in payload["blocks"] if b["type"] == "section")
    assert "• Canada, UK, EU: $19.95 flat rate, 7–12 business days" in texts_after
    assert "|" not in texts_after.replace("|[", "")  # no Markdown table pipes, only link labels
    # The table sits between the heading and the text that follows it, in article order.
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds[:3] == ["section", "table", "section"]


def test_slack_table_cells_keep_bold_and_linked_citations():
    payload = slack_payloads("article_shipping_table")[0]
    table = next(b for b in payload["blocks"] if b["type"] == "table")
    standard = table["rows"][1]
    bold = standard[1]["elements"][0]["elements"][0]
    assert bold == {"type": "text", "text": "Free", "style": {"bold": True}}
    assert table["column_settings"] == [{"is_wrapped": True}] * 3
    first_row = payload["text"].splitlines()[1]
    assert first_row == "• Standard: Free on orders over $75, otherwise $6.95; 3–5 business days"


def shown(case: str, channel: str) -> str:
    """What the customer reads (REST's structured payload keeps the Markdown table)."""
    texts = []
    for message in rendered(case, channel):
        payload = message.get("json_message") or {}
        texts.append(
            message.get("text")
            or payload.get("sms", {}).get("text")
            or payload.get("whatsapp", {}).get("text")
            or payload.get("telegram", {}).get("html")
            or "\n".join(b["text"]["text"] for b in payload["slack"]["blocks"] if b["type"] == "section")
        )
    return "\n".join(texts)


@pytest.mark.parametrize("channel", ["telegram", "sms", "whatsapp", "rest"])
def test_tables_read_as_rows_where_the_channel_has_none(channel):
    text = shown("article_shipping_table", channel)
    assert "Standard" in text and "$14.95" in text
    assert "| Option |" not in text and "|---|" not in text
    assert re.search(r"Express(</b>|\*\*?)?: \$14\.95, 1[–-]2 business days", text), text


def test_rest_payload_keeps_the_markdown_table_for_clients_that_render_it():
    payload = rendered("article_shipping_table", "rest")[0]["json_message"]
    assert "| Option | Cost | Delivery time after shipping |" in payload["answer"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_steps_keep_their_numbers_and_nested_items_their_level(channel):
    text = shown("article_nested_steps", channel)
    for step in ("1. Go to", "2. Choose what to delete:", "3. Confirm."):
        assert step in re.sub(r"</?b>|\*", "", text), step
    # The sub-items are indented under step 2, not flattened into the steps.
    assert re.search(r"\n {2,}[-◦•*] (<b>|\*\*?)?Energy history", text), text


# --- WhatsApp ------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(CASES))
def test_whatsapp_uses_its_own_formatting_never_html_or_markdown_links(case):
    (message,) = rendered(case, "whatsapp")
    text = message["json_message"]["whatsapp"]["text"]
    outside_code = re.sub(r"```.*?```|`[^`]*`", "", text, flags=re.S)
    assert "**" not in outside_code and "__" not in outside_code  # WhatsApp bold is one *
    assert "](" not in outside_code  # no Markdown link syntax: label (url) or a bare URL
    assert not re.search(r"</?(b|i|a|code|pre)\b", outside_code)  # no HTML
