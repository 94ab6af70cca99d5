"""Each channel's payload drawn as HTML the way the customer's app would show it.

The payloads come unchanged from `actions/render/`; this module only draws them: Slack's
Block Kit and mrkdwn, Telegram's HTML subset (re-parsed and reduced to the tags Telegram
accepts, so a renderer bug shows up as missing formatting here, never as markup running
in the team's browser), WhatsApp's *bold*/_italic_/~strike~/```monospace``` markup as the
app styles it, SMS as the phone shows plain text with its segment count, and REST as the
JSON the Rasa REST channel returns.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from typing import Any

from markupsafe import Markup

from actions.render.base import RenderedMessage
from actions.render.sms import encoding, segments
from contract import TWILIO_BODY_LIMIT

# ---------------------------------------------------------------- Slack ------------

_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_SLACK_CODE_BLOCK = re.compile(r"```\n?(.*?)\n?```", re.DOTALL)
_SLACK_CODE = re.compile(r"`([^`\n]+)`")
_SLACK_STYLES = (
    (re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])"), "s"),
)
_SAFE_SCHEMES = ("http://", "https://", "mailto:", "tel:")


def _slack_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _href(url: str) -> str | None:
    url = url.strip()
    return url if url.lower().startswith(_SAFE_SCHEMES) else None


class _Holes:
    """Pieces (code, links) cut out of a text before it is escaped and styled, put back after.

    Markers inside them stay literal, as they do in the apps.
    """

    def __init__(self) -> None:
        self.pieces: list[str] = []

    def cut(self, rendered: str) -> str:
        self.pieces.append(rendered)
        return f"\x00{len(self.pieces) - 1}\x00"

    def restore(self, text: str) -> str:
        return re.sub(r"\x00(\d+)\x00", lambda m: self.pieces[int(m.group(1))], text)


def _styled(text: str, styles: tuple, quote_class: str, line_break: str) -> str:
    """Escaped text with a chat app's marker pairs as tags and its `> ` lines as quotes."""
    for pattern, tag in styles:
        text = pattern.sub(lambda m, tag=tag: f"<{tag}>{m.group(1)}</{tag}>", text)
    lines = [
        f'<span class="{quote_class}">{line[5:]}</span>' if line.startswith("&gt; ") else line
        for line in text.split("\n")
    ]
    return line_break.join(lines)


def mrkdwn_to_html(text: str) -> str:
    """Slack mrkdwn (as our renderer writes it) to safe HTML.

    Links, code and code blocks are cut out first, so the markers inside them stay
    literal as they do in Slack; the rest is HTML-escaped and then styled.
    """
    holes = _Holes()
    hole = holes.cut

    def code_block(match: re.Match) -> str:
        return hole(f'<pre class="sk-pre">{html.escape(_slack_unescape(match.group(1)))}</pre>')

    def code(match: re.Match) -> str:
        return hole(f'<code class="sk-code">{html.escape(_slack_unescape(match.group(1)))}</code>')

    def link(match: re.Match) -> str:
        url = _slack_unescape(match.group(1))
        label = _slack_unescape(match.group(2)) if match.group(2) is not None else url
        target = _href(url)
        if target is None:
            return hole(html.escape(label))
        return hole(
            f'<a class="sk-link" href="{html.escape(target)}" target="_blank" rel="noopener">'
            f"{html.escape(label)}</a>"
        )

    text = _SLACK_CODE_BLOCK.sub(code_block, text)
    text = _SLACK_CODE.sub(code, text)
    text = _SLACK_LINK.sub(link, text)
    text = html.escape(_slack_unescape(text), quote=False)
    return holes.restore(_styled(text, _SLACK_STYLES, "sk-quote", "<br>"))


_RICH_STYLES = (("bold", "b"), ("italic", "i"), ("strike", "s"), ("code", "code"))


def _rich_text_html(element: dict[str, Any]) -> str:
    """A rich-text element tree (a table cell's) as escaped HTML: text, styles and links."""
    kind = element.get("type")
    if kind == "raw_text":
        return html.escape(element.get("text", ""))
    if kind == "text":
        out = html.escape(element.get("text", ""))
        for style, tag in _RICH_STYLES:
            if (element.get("style") or {}).get(style):
                out = f"<{tag}>{out}</{tag}>"
        return out
    if kind == "link":
        label = html.escape(element.get("text") or element.get("url", ""))
        href = _href(element.get("url", ""))
        if href is None:
            return label
        return f'<a class="sk-link" href="{html.escape(href)}" target="_blank" rel="noopener">{label}</a>'
    return "".join(_rich_text_html(child) for child in element.get("elements") or [])


def _slack_table(block: dict[str, Any]) -> str:
    """Block Kit's native table (the renderer's first table): the header row bold, as Slack draws it.

    Without it the preview showed an answer's table rows nowhere, although Slack shows them.
    """
    rows = []
    for row in block.get("rows") or []:
        cells = "".join(f"<td>{_rich_text_html(cell)}</td>" for cell in row)
        rows.append(f"<tr>{cells}</tr>")
    return f'<table class="sk-table">{"".join(rows)}</table>'


def slack_html(payload: dict[str, Any]) -> Markup:
    """A Block Kit message: sections, context, actions (buttons), dividers."""
    parts: list[str] = []
    for block in payload.get("blocks") or []:
        kind = block.get("type")
        if kind == "section":
            text = (block.get("text") or {}).get("text", "")
            parts.append(f'<div class="sk-section">{mrkdwn_to_html(text)}</div>')
        elif kind == "context":
            elements = []
            for element in block.get("elements", []):
                if element.get("type") == "mrkdwn":
                    elements.append(
                        f'<span class="sk-context-element">{mrkdwn_to_html(element["text"])}</span>'
                    )
                else:
                    elements.append(
                        f'<span class="sk-context-element">{html.escape(element.get("text", ""))}</span>'
                    )
            parts.append(f'<div class="sk-context">{"".join(elements)}</div>')
        elif kind == "actions":
            buttons = [
                '<button type="button" class="sk-button" data-action-id="{}">{}</button>'.format(
                    html.escape(e.get("action_id", "")), html.escape((e.get("text") or {}).get("text", ""))
                )
                for e in block.get("elements", [])
                if e.get("type") == "button"
            ]
            parts.append(f'<div class="sk-actions">{"".join(buttons)}</div>')
        elif kind == "divider":
            parts.append('<hr class="sk-divider">')
        elif kind == "table":
            parts.append(_slack_table(block))
    if not parts and payload.get("text"):
        parts.append(f'<div class="sk-section">{mrkdwn_to_html(payload["text"])}</div>')
    return Markup("".join(parts))


# ---------------------------------------------------------------- Telegram ---------

# Telegram's HTML parse mode: these tags, these attributes, nothing else.
TELEGRAM_TAGS = {
    "b": (),
    "strong": (),
    "i": (),
    "em": (),
    "u": (),
    "ins": (),
    "s": (),
    "strike": (),
    "del": (),
    "a": ("href",),
    "code": ("class",),
    "pre": (),
    "blockquote": ("expandable",),
    "span": ("class",),
    "tg-spoiler": (),
}


class _TelegramSanitiser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []
        self.dropped: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.dropped.append(tag)
            return
        kept = []
        for name, value in attrs:
            if name not in TELEGRAM_TAGS[tag]:
                self.dropped.append(f"{tag}[{name}]")
                continue
            if tag == "a":
                target = _href(value or "") or (value if (value or "").startswith("tg://") else None)
                if target is None:
                    self.dropped.append("a[href]")
                    continue
                kept.append(f' href="{html.escape(target)}" target="_blank" rel="noopener"')
            elif tag == "code" and (value or "").startswith("language-"):
                kept.append(f' class="{html.escape(value or "")}"')
            elif tag == "span" and value == "tg-spoiler":
                kept.append(' class="tg-spoiler"')
            elif tag == "blockquote":
                kept.append(" data-expandable")
        self.out.append(f"<{tag}{''.join(kept)}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack:
                open_tag = self.stack.pop()
                self.out.append(f"</{open_tag}>")
                if open_tag == tag:
                    break

    def handle_data(self, data: str) -> None:
        self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{tag}>" for tag in reversed(self.stack))


def sanitise_telegram(markup: str) -> tuple[str, list[str]]:
    """Telegram's subset of `markup`, and what had to be dropped (should be nothing)."""
    parser = _TelegramSanitiser()
    parser.feed(markup)
    return parser.result(), parser.dropped


def telegram_html(payload: dict[str, Any]) -> tuple[Markup, list[str]]:
    body, dropped = sanitise_telegram(payload.get("html") or html.escape(payload.get("text", "")))
    keyboard = []
    for row in payload.get("buttons") or []:
        cells = "".join(
            f'<button type="button" class="tg-button">{html.escape(b.get("text", ""))}</button>' for b in row
        )
        keyboard.append(f'<div class="tg-keyboard-row">{cells}</div>')
    keys = f'<div class="tg-keyboard">{"".join(keyboard)}</div>' if keyboard else ""
    return Markup(f'<div class="tg-text">{body}</div>{keys}'), dropped


# ---------------------------------------------------------------- WhatsApp ---------

# WhatsApp styles a marker pair only at word edges (`snake_case_names` and `5 * 3` stay as
# typed), within one line, with no space just inside the markers.
_WA_BLOCK = re.compile(r"```(.+?)```", re.DOTALL)
_WA_CODE = re.compile(r"`([^`\n]+)`")
_WA_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"\x00]+", re.IGNORECASE)
_WA_STYLES = (
    (re.compile(r"(?<![\w*])\*(?![\s*])([^*\n]+?)(?<!\s)\*(?![\w*])"), "b"),
    (re.compile(r"(?<![\w_])_(?![\s_])([^_\n]+?)(?<!\s)_(?![\w_])"), "i"),
    (re.compile(r"(?<![\w~])~(?![\s~])([^~\n]+?)(?<!\s)~(?![\w~])"), "s"),
)


def _url_end(url: str) -> int:
    """Where a bare URL ends: sentence punctuation and an unmatched `)` are not part of it."""
    end = len(url)
    while end and (
        url[end - 1] in ".,;:!?'\"" or (url[end - 1] == ")" and url[:end].count("(") < url[:end].count(")"))
    ):
        end -= 1
    return end


def whatsapp_to_html(text: str) -> str:
    """WhatsApp's text formatting as safe HTML; line breaks stay `\\n` (the bubble keeps them).

    Monospace, inline code and bare URLs are cut out first, so markers inside them stay
    literal as they do in the app; the rest is HTML-escaped and then styled. URLs are shown
    as the link-coloured text WhatsApp makes of them, never as a live link in the console.
    """
    holes = _Holes()
    hole = holes.cut

    def url(match: re.Match) -> str:
        found = match.group(0)
        end = _url_end(found)
        return hole(f'<span class="wa-url">{html.escape(found[:end])}</span>') + found[end:]

    text = text.replace("\x00", "")
    text = _WA_BLOCK.sub(lambda m: hole(f'<code class="wa-pre">{html.escape(m.group(1))}</code>'), text)
    text = _WA_CODE.sub(lambda m: hole(f'<code class="wa-code">{html.escape(m.group(1))}</code>'), text)
    text = _WA_URL.sub(url, text)
    text = html.escape(text, quote=False)
    # Line breaks stay `\n`: the bubble keeps them.
    return holes.restore(_styled(text, _WA_STYLES, "wa-quote", "\n"))


# ---------------------------------------------------------------- previews ---------


def channel_previews(channel: str, messages: list[RenderedMessage]) -> list[dict[str, Any]]:
    """One dict per message the channel would send: its HTML, raw payload and facts."""
    previews = []
    for message in messages:
        custom = message.json_message or {}
        raw: Any = message.as_kwargs()
        entry: dict[str, Any] = {"raw": json.dumps(raw, indent=2, ensure_ascii=False)}
        if channel == "slack" and "slack" in custom:
            entry["html"] = slack_html(custom["slack"])
            entry["fallback"] = custom["slack"].get("text", "")
        elif channel == "telegram" and "telegram" in custom:
            entry["html"], entry["dropped"] = telegram_html(custom["telegram"])
        elif channel == "whatsapp":
            # The renderer's part, or a plain text reply (the refusal), which the app styles too.
            text = custom["whatsapp"].get("text", "") if "whatsapp" in custom else message.text or ""
            entry["html"] = Markup(whatsapp_to_html(text))
            entry["chars"] = len(text)
            entry["limit"] = TWILIO_BODY_LIMIT
        elif channel == "sms":
            text = custom.get("sms", {}).get("text") if "sms" in custom else message.text or ""
            entry["text"] = text
            entry["segments"] = segments(text)
            entry["encoding"] = encoding(text)
            entry["chars"] = len(text)
        elif channel == "rest":
            # What POST /webhooks/rest/webhook returns for this message.
            reply: dict[str, Any] = {"recipient_id": "<conversation>"}
            if message.text is not None:
                reply["text"] = message.text
            if message.json_message is not None:
                reply["custom"] = message.json_message
            entry["raw"] = json.dumps(reply, indent=2, ensure_ascii=False)
            entry["text"] = message.text or ""
        else:
            # A channel's plain-text message (e.g. the refusal): shown as typed.
            entry["html"] = Markup(html.escape(message.text or "").replace("\n", "<br>"))
        previews.append(entry)
    return previews
