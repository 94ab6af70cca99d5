"""An agent's reply, written in the Slack team channel (Slack mrkdwn), as the customer's
channel shows text: Telegram HTML, WhatsApp's markers, plain text for SMS and the web,
mrkdwn (without channel-wide pings) for a customer on Slack.

Agents write the way Slack lets them: `*bold*`, `_italic_`, `~struck~`, `` `code` ``,
fenced blocks, `<https://…|links>`, mentions; Slack sends it with `&`, `<`, `>` escaped.
Left as typed, an SMS customer would read `<https://help…|this article>` and `&amp;`.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from contract import agent_message, slack_part, sms_part, telegram_part, whatsapp_part

_FENCE = re.compile(r"```(.*?)```", re.DOTALL)
_INLINE = re.compile(
    r"<(?P<angle>[^<>\s][^<>]*)>"
    r"|`(?P<code>[^`\n]+)`"
    r"|(?<![\w*])\*(?P<bold>\S(?:[^*\n]*?\S)?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic>\S(?:[^_\n]*?\S)?)_(?![\w_])"
    r"|(?<![\w~])~(?P<strike>\S(?:[^~\n]*?\S)?)~(?![\w~])"
)
_BROADCAST = re.compile(r"<!(?:channel|here|everyone)(?:\|[^>]*)?>")


@dataclass(frozen=True)
class Piece:
    kind: str  # text, bold, italic, strike, code, pre, link, mention
    text: str  # unescaped
    url: str = ""
    children: tuple = ()


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _angle(token: str) -> Piece:
    target, _, label = token.partition("|")
    if target.startswith(("@", "#")):
        return Piece("mention", _unescape(label) or target)  # <@U123|ann> -> "ann"
    if target.startswith("!"):
        word = target[1:].split("^")[0]
        return Piece("mention", _unescape(label) or f"@{word}")
    url = _unescape(target)
    if url.startswith("mailto:"):
        return Piece("link", _unescape(label) or url[len("mailto:") :], url)
    return Piece("link", _unescape(label) or url, url)


def parse_inline(text: str) -> tuple[Piece, ...]:
    pieces: list[Piece] = []
    at = 0
    for match in _INLINE.finditer(text):
        if match.start() > at:
            pieces.append(Piece("text", _unescape(text[at : match.start()])))
        if match.group("angle") is not None:
            pieces.append(_angle(match.group("angle")))
        elif match.group("code") is not None:
            pieces.append(Piece("code", _unescape(match.group("code"))))
        else:
            kind = next(k for k in ("bold", "italic", "strike") if match.group(k) is not None)
            pieces.append(Piece(kind, "", children=parse_inline(match.group(kind))))
        at = match.end()
    if at < len(text):
        pieces.append(Piece("text", _unescape(text[at:])))
    return tuple(pieces)


def parse(mrkdwn: str) -> tuple[Piece, ...]:
    """Slack mrkdwn as pieces: fenced blocks first, then the inline markup between them."""
    pieces: list[Piece] = []
    at = 0
    for match in _FENCE.finditer(mrkdwn):
        pieces.extend(parse_inline(mrkdwn[at : match.start()]))
        pieces.append(Piece("pre", _unescape(match.group(1).strip("\n"))))
        at = match.end()
    pieces.extend(parse_inline(mrkdwn[at:]))
    return tuple(pieces)


def _link_plain(piece: Piece) -> str:
    shown = piece.url.removeprefix("mailto:")
    return piece.text if piece.text in (piece.url, shown) else f"{piece.text} ({shown})"


def to_plain(pieces: tuple[Piece, ...]) -> str:
    out: list[str] = []
    for piece in pieces:
        if piece.children:
            out.append(to_plain(piece.children))
        elif piece.kind == "link":
            out.append(_link_plain(piece))
        else:
            out.append(piece.text)
    return "".join(out)


def to_html(pieces: tuple[Piece, ...]) -> str:
    """Telegram's HTML subset."""
    tags = {"bold": "b", "italic": "i", "strike": "s"}
    out: list[str] = []
    for piece in pieces:
        if piece.kind in tags:
            tag = tags[piece.kind]
            out.append(f"<{tag}>{to_html(piece.children)}</{tag}>")
        elif piece.kind == "code":
            out.append(f"<code>{html.escape(piece.text, quote=False)}</code>")
        elif piece.kind == "pre":
            out.append(f"<pre>{html.escape(piece.text, quote=False)}</pre>")
        elif piece.kind == "link" and piece.url.startswith(("http://", "https://", "mailto:")):
            out.append(f'<a href="{html.escape(piece.url)}">{html.escape(piece.text, quote=False)}</a>')
        elif piece.kind == "link":
            out.append(html.escape(_link_plain(piece), quote=False))
        else:
            out.append(html.escape(piece.text, quote=False))
    return "".join(out)


def to_whatsapp(pieces: tuple[Piece, ...]) -> str:
    markers = {"bold": "*", "italic": "_", "strike": "~"}
    out: list[str] = []
    for piece in pieces:
        if piece.kind in markers:
            mark = markers[piece.kind]
            out.append(f"{mark}{to_whatsapp(piece.children)}{mark}")
        elif piece.kind in ("code", "pre"):
            out.append(f"```{piece.text}```")
        elif piece.kind == "link":
            out.append(_link_plain(piece))
        else:
            out.append(piece.text)
    return "".join(out)


def for_slack(mrkdwn: str) -> str:
    """A customer on Slack reads mrkdwn as the agent wrote it, minus @channel-style pings."""
    return _BROADCAST.sub(lambda m: "@" + m.group(0)[2:].split("|")[0].rstrip(">"), mrkdwn)


def render_agent_message(mrkdwn: str, agent: str, channel: str | None) -> dict:
    """The `agent_message` payload for the customer's channel, with the plain text as the
    fallback (and the web client's text). The agent's name leads, so the customer knows a
    person is writing."""
    pieces = parse(mrkdwn.strip())
    who = agent.strip() or "Support team"
    plain = f"{who}: {to_plain(pieces)}"
    parts: dict = {}
    if channel == "slack":
        parts = slack_part(f"*{who.replace('*', '')}:* {for_slack(mrkdwn.strip())}")
    elif channel == "telegram":
        parts = telegram_part(f"<b>{html.escape(who, quote=False)}:</b> {to_html(pieces)}")
    elif channel == "sms":
        parts = sms_part(plain)
    elif channel == "whatsapp":
        parts = whatsapp_part(f"*{who.replace('*', '')}:* {to_whatsapp(pieces)}")
    return {**agent_message(plain, who), **parts}
