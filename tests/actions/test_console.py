"""The console in a real browser: headless Chromium driven by Selenium against a real
`python -m actions.console` process on loopback, over a LanceDB index of the sample articles.

Screenshots of every page are written to CONSOLE_SCREENSHOTS (default
.data/test-artifacts/console); the README's come from a run with CONSOLE_SCREENSHOTS=docs/console.
Chromium and chromedriver are Debian packages (`.ci/run` installs them): without them these
tests fail, they never skip.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from actions.feedback_store import FeedbackStore
from actions.gaps_store import GapsStore
from actions.handoff_store import HandoffStore
from actions.render.sms import FEEDBACK_PROMPT, segments
from actions.render.whatsapp import FEEDBACK_PROMPT as WHATSAPP_FEEDBACK
from tests.actions.test_gaps import feed_sixty

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-console-token-" + os.urandom(6).hex()
PHONE = "+1 415 555 0199"
TELEGRAM_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "blockquote",
    "span",
}


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_tracker(path: Path) -> None:
    """Three conversations in the table layout Rasa's SQL tracker store writes (`events`).

    The end-to-end test (tests/e2e/test_console_conversations.py) reads one the Rasa
    server really wrote; this one sets up what the pages must show in the browser.
    """
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{path}")
    meta = sa.MetaData()
    events = sa.Table(
        "events",
        meta,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("type_name", sa.String(255), nullable=False),
        sa.Column("timestamp", sa.Float),
        sa.Column("intent_name", sa.String(255)),
        sa.Column("action_name", sa.String(255)),
        sa.Column("data", sa.Text),
    )
    meta.create_all(engine)
    now = time.time() - 600
    conversations = {
        "sms:4f1c2a": [
            {"event": "user", "text": f"hi, text me back at {PHONE} about my refund", "input_channel": "sms"},
            {"event": "bot", "text": "Refunds reach your card within 5-10 business days [1]."},
        ],
        "U0SLACK1": [
            {"event": "user", "text": "how do I reset my password?", "input_channel": "slack"},
            {
                "event": "bot",
                "text": None,
                "data": {"custom": {"slack": {"text": "Use the reset link [1]."}}},
            },
        ],
        "tg-77": [
            {"event": "user", "text": "do you sell gift cards", "input_channel": "telegram"},
            {"event": "bot", "text": "Sorry, I couldn't find that in our help articles."},
            {"event": "user", "text": "can I buy a voucher then", "input_channel": "telegram"},
            {"event": "bot", "data": {"custom": {"handoff": {"reason": "unanswered_questions"}}}},
            {"event": "slot", "name": "handoff_active", "value": True},
        ],
    }
    with engine.begin() as db:
        for n, (sender, items) in enumerate(conversations.items()):
            for i, event in enumerate(items):
                event = {"timestamp": now + 60 * n + i, **event}
                db.execute(
                    events.insert().values(
                        sender_id=sender,
                        type_name=event["event"],
                        timestamp=event["timestamp"],
                        data=json.dumps(event),
                    )
                )


@pytest.fixture(scope="module")
def console(tmp_path_factory, sample_kb_uri):
    tmp = tmp_path_factory.mktemp("console")
    kb = sample_kb_uri
    feed_sixty(GapsStore(tmp / "gaps.sqlite"), FeedbackStore(tmp / "feedback.sqlite"))
    write_tracker(tmp / "tracker.db")
    handoffs = HandoffStore(tmp / "handoffs.sqlite")
    handoffs.open("h1", "tg-77", "telegram", "unanswered_questions", ["webhook"])
    handoffs.claim("tg-77", "dana")
    handoffs.open("h2", "web-3", "rest", "customer_asked", ["slack"])
    handoffs.open("h3", "web-4", "rest", "customer_asked", [])  # nobody told: closed at once
    port = free_port()
    env = {
        **os.environ,
        "CONSOLE_TOKEN": TOKEN,
        "KB_URI": kb,
        "FEEDBACK_DB": str(tmp / "feedback.sqlite"),
        "GAPS_DB": str(tmp / "gaps.sqlite"),
        "HANDOFF_DB": str(tmp / "handoffs.sqlite"),
        "TRACKER_DB": str(tmp / "tracker.db"),
        "TRACKER_URL": "",
        "REDIS_HOST": "",
        "OPENAI_API_KEY": "",
        "OPENAI_BASE_URL": "",
        "PYTHONPATH": str(ROOT),
    }
    log = open(tmp / "console.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "actions.console", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (tmp / "console.log").read_text()
            try:
                urllib.request.urlopen(url + "/health", timeout=2).read()
                break
            except OSError:
                assert time.monotonic() < deadline, "the console did not start within 120 s"
                time.sleep(0.3)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
        log.close()


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.fail("Chromium is missing: apt-get install -y chromium chromium-driver (.ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # The background-networking flags keep Chromium from opening connections of its own,
    # which a closed network refuses (many at a time) while a test page loads.
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1440,1200",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


def screenshot(driver, name: str) -> Path:
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or ROOT / ".data" / "test-artifacts" / "console")
    folder.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1440, min(max(height, 800), 6000))
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path))
    driver.set_window_size(1440, 1200)
    return path


def ask(driver) -> None:
    """Submit the question and wait for the answer page (the click may return before it loads)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.ID, "ask").click()
    WebDriverWait(driver, 60).until(
        lambda d: d.find_elements(By.ID, "verdict") or d.find_elements(By.ID, "error")
    )


def log_in(driver, url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url + "/try")
    if driver.find_elements(By.ID, "token"):
        driver.find_element(By.ID, "token").send_keys(TOKEN)
        driver.find_element(By.ID, "login").click()
        WebDriverWait(driver, 30).until(lambda d: not d.find_elements(By.ID, "token"))
    assert driver.current_url.endswith("/try")


def status(url: str, headers: dict | None = None, data: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=90) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_without_the_token_every_page_is_refused(console, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    for path in ("/try", "/gaps", "/gaps.csv", "/conversations"):
        assert status(console + path) == 401
        assert status(console + path, {"Authorization": "Bearer wrong"}) == 401
        assert (
            status(console + path, {"Cookie": "nimbus_console=" + TOKEN}) == 401
        )  # the cookie is not the token
    assert status(console + "/try", data=b"question=refund") == 401
    assert status(console + "/gaps.csv", {"Authorization": f"Bearer {TOKEN}"}) == 200

    browser.delete_all_cookies()
    browser.get(console + "/gaps")
    assert browser.find_elements(By.ID, "token") and not browser.find_elements(By.ID, "groups")
    browser.find_element(By.ID, "token").send_keys("not-the-token")
    browser.find_element(By.ID, "login").click()
    # A wrong token is answered after a deliberate pause: wait for the page that says so.
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "login-error"))
    assert "not right" in browser.find_element(By.ID, "login-error").text
    assert not browser.get_cookies()
    screenshot(browser, "login")


def test_a_question_shows_the_verdict_and_each_channel_as_its_customers_see_it(console, browser):
    from selenium.webdriver.common.by import By

    log_in(browser, console)
    browser.find_element(By.ID, "question").send_keys("how long does a refund take?")
    ask(browser)

    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-verdict") == "answer"
    confidence = float(browser.find_element(By.ID, "confidence").text)
    assert confidence >= float(browser.find_element(By.ID, "bar").text)
    rows = browser.find_elements(By.CSS_SELECTOR, "#passages tbody tr")
    assert len(rows) >= 2 and "refund-timing" in rows[0].text

    slack = browser.find_element(By.ID, "preview-slack")
    assert slack.find_elements(By.CSS_SELECTOR, ".sk-section b"), "mrkdwn *bold* is drawn bold"
    links = slack.find_elements(By.CSS_SELECTOR, ".sk-section a.sk-link")
    assert links and all(a.get_attribute("href").startswith("https://") for a in links)
    assert links[0].text == "[1]"
    context = slack.find_element(By.CSS_SELECTOR, ".sk-context")
    assert context.text.startswith("Sources") and context.find_elements(By.CSS_SELECTOR, "a.sk-link")
    buttons = [b.text for b in slack.find_elements(By.CSS_SELECTOR, ".sk-actions .sk-button")]
    assert buttons == ["👍 Helpful", "👎 Not helpful", "🙋 Talk to a person"]
    assert "*" not in slack.find_element(By.CSS_SELECTOR, ".sk-blocks").text  # no raw markers left

    telegram = browser.find_element(By.ID, "preview-telegram")
    body = telegram.find_element(By.CSS_SELECTOR, ".tg-text")
    tags = {e.tag_name for e in body.find_elements(By.CSS_SELECTOR, "*")}
    assert tags <= TELEGRAM_TAGS and {"b", "a"} <= tags
    assert not telegram.find_elements(By.CSS_SELECTOR, ".tg-dropped")
    assert "Sources" in body.text and "<b>" not in body.text
    assert len(telegram.find_elements(By.CSS_SELECTOR, ".tg-keyboard .tg-button")) == 3

    whatsapp = browser.find_element(By.ID, "preview-whatsapp")
    bubble = whatsapp.find_element(By.CSS_SELECTOR, ".wa-text")
    shown = bubble.text
    bold = [b.text for b in bubble.find_elements(By.CSS_SELECTOR, "b")]
    assert "Sources" in bold and len(bold) >= 2, "*bold* is drawn bold, in the answer and the heading"
    assert "*" not in shown and "<b>" not in shown  # no raw markers, no markup as text
    assert "\n" in shown and shown.endswith(WHATSAPP_FEEDBACK)  # line breaks kept
    # Citations are [n] in the text and the links are text in the Sources list: the same
    # articles Slack links to, shown as the URLs WhatsApp makes tappable, and no live link.
    answer_part, sources_part = shown.split("Sources", 1)
    assert "[1]" in answer_part and "[1] " in sources_part
    urls = {u.text for u in bubble.find_elements(By.CSS_SELECTOR, ".wa-url")}
    slack_urls = {a.get_attribute("href") for a in context.find_elements(By.CSS_SELECTOR, "a")}
    assert urls and urls <= slack_urls and all(url in sources_part for url in urls)
    tags = {e.tag_name for e in bubble.find_elements(By.CSS_SELECTOR, "*")}
    assert tags <= {"b", "i", "s", "code", "span"}  # no <a>, nothing but WhatsApp's styles
    chars = int(whatsapp.find_element(By.CSS_SELECTOR, ".wa-chars").get_attribute("data-chars"))
    body = json.loads(whatsapp.find_element(By.CSS_SELECTOR, "details pre").get_attribute("textContent"))
    sent = body["json_message"]["whatsapp"]["text"]  # the body Twilio gets, markers and all
    assert chars == len(sent) > len(bubble.get_attribute("textContent")) and "*Sources*" in sent
    assert not whatsapp.find_elements(By.CSS_SELECTOR, ".wa-split")  # one Twilio message

    sms = browser.find_element(By.ID, "preview-sms")
    text = sms.find_element(By.CSS_SELECTOR, ".sms-bubble").get_attribute("textContent")
    shown = int(sms.find_element(By.CSS_SELECTOR, ".sms-segments").get_attribute("data-segments"))
    assert shown == segments(text) >= 1
    assert sms.find_element(By.CSS_SELECTOR, ".sms-encoding").text in {"GSM-7", "UCS-2"}
    assert "**" not in text and text.endswith(FEEDBACK_PROMPT)

    rest = json.loads(browser.find_element(By.CSS_SELECTOR, "#preview-rest .rest-json").text)
    assert rest["custom"]["type"] == "knowledge_answer" and rest["custom"]["citations"]
    screenshot(browser, "try-a-question")


def test_a_question_the_articles_do_not_answer_shows_the_refusal(console, browser):
    from selenium.webdriver.common.by import By

    log_in(browser, console)
    field = browser.find_element(By.ID, "question")
    field.clear()
    field.send_keys("what's the weather going to be in paris tomorrow")
    ask(browser)
    assert browser.find_element(By.ID, "verdict").get_attribute("data-verdict") == "abstain"
    assert float(browser.find_element(By.ID, "confidence").text) < float(
        browser.find_element(By.ID, "bar").text
    )
    sms = browser.find_element(By.CSS_SELECTOR, "#preview-sms .sms-bubble").text
    assert "Reply HUMAN" in sms  # the domain's SMS variant of utter_dont_know
    assert "couldn't find" in browser.find_element(By.ID, "preview-slack").text
    assert "couldn't find" in browser.find_element(By.CSS_SELECTOR, "#preview-whatsapp .wa-text").text


def test_earlier_turns_are_searched_with_a_follow_up_question(console, browser):
    from selenium.webdriver.common.by import By

    log_in(browser, console)
    field = browser.find_element(By.ID, "question")
    field.clear()
    field.send_keys("how long does that take?")
    browser.find_element(By.CSS_SELECTOR, "details summary").click()
    earlier = "I want to return my thermostat"
    browser.find_element(By.ID, "earlier").send_keys(f"{earlier}\nbot: Start a return [1].")
    ask(browser)
    assert browser.find_element(By.ID, "query").text == f"{earlier} how long does that take?"
    assert browser.find_element(By.ID, "earlier").get_attribute("value").startswith("I want to return")


def test_what_the_articles_are_missing_is_grouped_by_topic_and_exported(console, browser):
    from selenium.webdriver.common.by import By

    log_in(browser, console)
    browser.get(console + "/gaps")
    rows = browser.find_elements(By.CSS_SELECTOR, "#groups tr.group")
    counts = [int(r.find_element(By.CSS_SELECTOR, ".group-count").text) for r in rows]
    assert sum(counts) == 60 and 5 <= len(rows) <= 8
    assert counts == sorted(counts, reverse=True)
    first = rows[0].text
    assert "refused" in first and "unhelpful" in first or "handoff" in first
    assert any(channel in first for channel in ("slack", "telegram", "sms", "rest"))
    screenshot(browser, "what-the-articles-are-missing")

    cookie = browser.get_cookie("nimbus_console")
    request = urllib.request.Request(
        browser.find_element(By.ID, "csv").get_attribute("href"),
        headers={"Cookie": f"nimbus_console={cookie['value']}"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["Content-Type"].startswith("text/csv")
        exported = list(csv.DictReader(io.StringIO(response.read().decode())))
    assert len(exported) == 60
    assert {r["group"] for r in exported} == {
        r.find_element(By.CSS_SELECTOR, ".group-name").text for r in rows
    }


def test_conversations_by_channel_with_phone_numbers_masked_and_open_handoffs(console, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    log_in(browser, console)
    browser.get(console + "/conversations")
    # On a loaded machine the page source was once read before the page arrived (empty).
    WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#handoffs tbody tr"))
    page = browser.page_source
    assert "555 0199" not in page and "4155550199" not in page
    assert "+•••••••••99" in page
    handoffs = [row.text for row in browser.find_elements(By.CSS_SELECTOR, "#handoffs tbody tr")]
    assert len(handoffs) == 2
    assert (
        "tg-77" in handoffs[0] and "unanswered_questions" in handoffs[0] and "claimed by dana" in handoffs[0]
    )
    assert "web-3" in handoffs[1] and "waiting for an agent" in handoffs[1] and "slack" in handoffs[1]
    channels = {
        c.get_attribute("data-channel") for c in browser.find_elements(By.CSS_SELECTOR, ".conversation")
    }
    assert channels == {"sms", "slack", "telegram"}
    screenshot(browser, "conversations")

    browser.get(console + "/conversations?" + urllib.parse.urlencode({"channel": "slack"}))
    shown = browser.find_elements(By.CSS_SELECTOR, ".conversation")
    assert [c.get_attribute("data-channel") for c in shown] == ["slack"]
    assert "Use the reset link" in shown[0].get_attribute("textContent")
