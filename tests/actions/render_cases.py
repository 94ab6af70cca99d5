"""Awkward answers every renderer is tested with (inputs of the golden tests), and the
golden files' check."""

from __future__ import annotations

import json
import os
from pathlib import Path

from knowledge.config import SAMPLE_ARTICLES
from knowledge.documents import Answer, Source
from knowledge.loaders import load_article

HELP = "https://help.nimbushome.example/articles/"
RETURNS = Source(1, "Returns & refunds", HELP + "returns-and-refunds", "returns")
WIFI = Source(2, "Thermostat <Wi-Fi> setup", HELP + "wifi_setup_(2024)", "wifi")
MANUAL = Source(3, "Installer manual (PDF)", "", "installer-manual", page=12)

GOLDEN = Path(__file__).parent / "golden"
CHANNELS = ["slack", "telegram", "sms", "whatsapp", "rest"]


def assert_golden(name: str, actual: list[dict]) -> None:
    """`actual` is exactly golden/<name>.json, a payload reviewed by eye; `UPDATE_GOLDEN=1`
    rewrites the file first, after an intended change (review the diff)."""
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(actual, ensure_ascii=False, indent=1) + "\n")
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1 and review it"
    assert actual == json.loads(path.read_text())


def _long_text() -> str:
    """About 10,000 characters: paragraphs, a list and a code block, all cited."""
    sentence = (
        "Your Nimbus thermostat keeps its schedule in the cloud & on the device, so a reset "
        "restores it within a few minutes <usually under five> [{n}]. "
    )
    paragraphs = []
    for i in range(14):
        paragraphs.append("".join(sentence.format(n=1 + (i + j) % 2) for j in range(5)))
        if i == 6:
            steps = [f"- Step {k}: hold **Menu** for {k} seconds [2]" for k in range(1, 9)]
            paragraphs.append("\n".join(steps))
            paragraphs.append("```\nnimbus> reset --keep-schedule\n```")
    return "\n\n".join(paragraphs)


def _article_answer(*quoted: tuple[str, str]) -> Answer:
    """Sections (article slug, heading) of the real sample articles, quoted the way the
    extractive answer quotes them: heading in bold, the section's Markdown as written,
    the article's citation at the end."""
    parts, sources = [], []
    for slug, heading in quoted:
        article = load_article(SAMPLE_ARTICLES / f"{slug}.md", SAMPLE_ARTICLES)
        if all(s.article_id != slug for s in sources):
            sources.append(Source(len(sources) + 1, article.title, article.url, article.article_id))
        number = next(s.number for s in sources if s.article_id == slug)
        section = next(s for s in article.sections if s.heading == heading)
        parts.append(f"**{heading}**\n\n{section.text} [{number}]")
    return Answer(text="\n\n".join(parts), sources=sources)


def _with_see_also(answer: Answer, *see_also: Source) -> Answer:
    answer.see_also = list(see_also)
    return answer


CASES: dict[str, Answer] = {
    # From the sample help centre: a table with prices, a comparison table whose first
    # header cell is empty, numbered steps, and steps with a nested list.
    "article_shipping_table": _article_answer(("shipping-options-and-costs", "Shipping options")),
    "article_plan_comparison": _article_answer(("plans-and-pricing", "Compare plans")),
    "article_reset_steps": _article_answer(("reset-your-password", "Request a reset link")),
    # A confident answer whose runner-up ranked nearly as high: linked under "See also"
    # (a title every channel must escape, and one without a link).
    "article_reset_steps_see_also": _with_see_also(
        _article_answer(("reset-your-password", "Request a reset link")),
        Source(1, "Unlock a <locked> account & sign in", HELP + "unlock-your-account?from=a&b=1", "unlock"),
        Source(2, "Account security (PDF)", "", "security-pdf"),
    ),
    "article_nested_steps": _article_answer(
        ("privacy-settings-and-data-deletion", "Delete part of your data")
    ),
    "article_two_tables": _article_answer(
        ("factory-reset-your-thermostat", "Restart or reset?"),
        ("international-shipping", "Cost and delivery time"),
    ),
    "markdown_specials": Answer(
        text=(
            "Refunds take **5-7 business days** [1]. Use *Settings → Billing* and _not_ the ~~old~~ page. "
            "Prices like 5 * 3 = 15 & a < b > c stay as typed; snake_case_names and 100% too. "
            "Type `refund <order#> & *now*` exactly [1]."
        ),
        sources=[RETURNS],
    ),
    "nested_lists": Answer(
        text=(
            "To reconnect:\n"
            "1. Open the app [2]\n"
            "2. Go to **Devices**\n"
            "   - pick your thermostat\n"
            "     - then *Wi-Fi*\n"
            "   - tap Reconnect [2]\n"
            "3. Wait for the light\n\n"
            "If that fails, restart the router."
        ),
        sources=[WIFI],
    ),
    "code_block": Answer(
        text=(
            "Run this from the installer shell [3]:\n\n"
            "```bash\nnimbus-cli pair --code '<PIN>' && echo *done* > /tmp/log_file\n```\n\n"
            "Then check `status_code`."
        ),
        sources=[MANUAL],
    ),
    "url_parens_underscore": Answer(
        text=(
            "See the [setup guide](https://help.nimbushome.example/articles/wifi_setup_(2024)) [2] "
            "or https://example.com/docs/reset_(hard)_guide. For the old model "
            "(https://example.com/legacy_models) the steps differ [1]."
        ),
        sources=[RETURNS, WIFI],
    ),
    "citation_without_url": Answer(
        text="The wiring diagram is on page 12 of the installer manual [3]. Returns are free [1].",
        sources=[MANUAL, RETURNS],
    ),
    "long_answer": Answer(text=_long_text(), sources=[RETURNS, WIFI]),
    "sms_smart_punctuation": Answer(
        text="You’ll get a “refund” in 5–7 days — usually sooner… [1]",
        sources=[RETURNS],
    ),
    "sms_emoji_and_cyrillic": Answer(
        text=(
            "Ваш возврат оформлен 📦 и деньги придут через 5–7 дней [1]. "
            "Если нет, напишите нам. 🙂 Проверьте статус в приложении [1]. "
            "Мы ответим в течение суток. Спасибо за терпение и хорошего дня!"
        ),
        sources=[RETURNS],
    ),
}
