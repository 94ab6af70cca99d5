"""The Markdown of an answer, read once (by markdown-it-py, a CommonMark parser) into the
blocks and inline pieces every channel renderer writes in its own syntax.

Answers arrive as the light Markdown a model writes (or the extractive engine's plain
sentences) with `[n]` citation markers. Each channel has its own syntax and escaping
rules, so rewriting Markdown with regexes per channel breaks (on URLs with `_` or `)`, on
`*` inside code); reading it into a small tree here keeps the renderers to their syntax.
The tree is ours, not markdown-it's tokens: flat blocks (a list item knows its depth),
`[n]` citations and bare URLs as pieces of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from markdown_it import MarkdownIt

from knowledge.answer.structure import row_line

# --- inline pieces -------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Strong:
    children: tuple


@dataclass(frozen=True)
class Em:
    children: tuple


@dataclass(frozen=True)
class Strike:
    children: tuple


@dataclass(frozen=True)
class CodeSpan:
    text: str


@dataclass(frozen=True)
class Link:
    url: str
    children: tuple


@dataclass(frozen=True)
class Cite:
    number: int


Inline = Text | Strong | Em | Strike | CodeSpan | Link | Cite

# --- blocks --------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    inlines: tuple


@dataclass(frozen=True)
class Heading:
    level: int
    inlines: tuple


@dataclass(frozen=True)
class ListItem:
    depth: int
    marker: str  # "" for bullets, "3." for ordered items
    inlines: tuple


@dataclass(frozen=True)
class CodeBlock:
    text: str
    language: str = ""


@dataclass(frozen=True)
class Quote:
    inlines: tuple


@dataclass(frozen=True)
class Table:
    """Cells as written (Markdown); `rows()` gives the readable lines for channels
    without tables, and a channel with tables parses each cell itself."""

    header: tuple[str, ...]
    body: tuple[tuple[str, ...], ...]

    def rows(self) -> list[ListItem]:
        lines = [row_line(list(self.header), list(row), [list(r) for r in self.body]) for row in self.body]
        return [ListItem(0, "", parse_inline(line)) for line in lines]


Block = Paragraph | Heading | ListItem | CodeBlock | Quote | Table


@dataclass
class Document:
    blocks: list = field(default_factory=list)


# --- reading (markdown-it-py) ---------------------------------------------------------

# CommonMark with GitHub's tables and ~~strike~~. Raw HTML stays text ("<usually under
# five>" is a valid HTML tag to CommonMark), and an indented line is never a code block:
# answers indent continuation lines, they do not mean code.
_MD = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"]).disable("code")

_CITE = re.compile(r"\[(\d{1,3})\]")
_BARE_URL = re.compile(r"(?<![\w/])https?://[^\s<>]+")
_TRAILING = ".,;:!?'\"*"
_WRAPS = {"strong": Strong, "em": Em, "s": Strike}


def _trim_url(url: str) -> str:
    """Drop sentence punctuation and an unbalanced `)` that end a bare URL."""
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last == ")" and url.count("(") < url.count(")"):
            url = url[:-1]
        else:
            break
    return url


def _text_pieces(text: str) -> list:
    """Plain text with its `[n]` citations and bare URLs (markdown-it has no linkify
    without another package) as pieces of their own."""
    out: list = []
    position = 0
    for match in re.finditer(f"{_CITE.pattern}|{_BARE_URL.pattern}", text):
        if match.group(1):
            piece, end = Cite(int(match.group(1))), match.end()
        else:
            url = _trim_url(match.group(0))
            if len(url) <= len("https://"):
                continue
            piece, end = Link(url, (Text(url),)), match.start() + len(url)
        if match.start() > position:
            out.append(Text(text[position : match.start()]))
        out.append(piece)
        position = end
    if position < len(text):
        out.append(Text(text[position:]))
    return out


def _inlines(tokens: list, softbreak: str = "\n") -> tuple:
    """markdown-it's inline tokens as our pieces; adjacent text is merged first."""
    stack: list[tuple[Any, list]] = [(None, [])]
    for token in tokens:
        kind = token.type
        out = stack[-1][1]
        if kind in ("text", "text_special"):
            out.append(token.content)
        elif kind == "softbreak":
            out.append(softbreak)
        elif kind == "hardbreak":
            out.append("\n")
        elif kind == "code_inline":
            out.append(CodeSpan(token.content))
        elif kind == "image":
            out.append(Link(str(token.attrGet("src") or ""), (Text(token.content),)))
        elif kind.endswith("_open"):
            stack.append((token, []))
        elif kind.endswith("_close") and len(stack) > 1:
            opened, children = stack.pop()
            pieces = _merge(children)
            tag = opened.type[: -len("_open")]
            if tag == "link":
                stack[-1][1].append(Link(str(opened.attrGet("href") or ""), pieces))
            else:
                stack[-1][1].append(_WRAPS.get(tag, lambda c: c)(pieces))
    while len(stack) > 1:  # never left open by markdown-it, but never lose text either
        _, children = stack.pop()
        stack[-1][1].extend(children)
    return _merge(stack[0][1])


def _merge(items: list) -> tuple:
    out: list = []
    text: list[str] = []
    for item in items:
        if isinstance(item, str):
            text.append(item)
            continue
        if text:
            out.extend(_text_pieces("".join(text)))
            text.clear()
        out.extend(item) if isinstance(item, tuple) else out.append(item)
    if text:
        out.extend(_text_pieces("".join(text)))
    return tuple(out)


def parse_inline(text: str) -> tuple:
    """One line (a table cell, a title) of Markdown as inline pieces."""
    tokens = _MD.parseInline(text)
    return _inlines(tokens[0].children or []) if tokens else ()


def parse(text: str) -> Document:
    """Read Markdown into the blocks the renderers write; lists flatten to items with a depth."""
    doc = Document()
    tokens = _MD.parse(text.replace("\r\n", "\n").replace("\r", "\n"))
    lists: list[bool] = []  # open lists, innermost last: ordered?
    quotes = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            lists.append(kind == "ordered_list_open")
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            marker = f"{token.info}." if lists and lists[-1] and token.info else ""
            depth = len(lists) - 1
            if tokens[i + 1].type == "paragraph_open":  # the item's own text
                doc.blocks.append(ListItem(depth, marker, _inlines(tokens[i + 2].children or [], " ")))
                i += 3
            else:  # empty, or opening with a code block: the marker still shows
                doc.blocks.append(ListItem(depth, marker, ()))
        elif kind == "blockquote_open":
            quotes += 1
        elif kind == "blockquote_close":
            quotes -= 1
        elif kind == "heading_open":
            doc.blocks.append(Heading(int(token.tag[1:]), _inlines(tokens[i + 1].children or [])))
            i += 2
        elif kind == "paragraph_open":
            children = tokens[i + 1].children or []
            if quotes:
                doc.blocks.append(Quote(_inlines(children)))
            else:
                doc.blocks.append(Paragraph(_inlines(children)))
            i += 2
        elif kind in ("fence", "code_block"):
            language = token.info.split()[0] if token.info.strip() else ""
            doc.blocks.append(CodeBlock(token.content.removesuffix("\n"), language))
        elif kind == "table_open":
            i = _table(tokens, i, doc)
        i += 1
    return doc


def _table(tokens: list, i: int, doc: Document) -> int:
    """Read one table (cells kept as written: a channel with tables parses each cell);
    returns the index of its `table_close`."""
    header: list[str] = []
    body: list[list[str]] = []
    in_head = False
    while tokens[i].type != "table_close":
        kind = tokens[i].type
        if kind in ("thead_open", "thead_close"):
            in_head = kind == "thead_open"
        elif kind == "tr_open" and not in_head:
            body.append([])
        elif kind == "inline":
            (header if in_head else body[-1]).append(tokens[i].content)
        i += 1
    width = len(header)
    doc.blocks.append(Table(tuple(header), tuple(tuple((row + [""] * width)[:width]) for row in body)))
    return i


# --- helpers shared by renderers -----------------------------------------------------


def without_tables(blocks: list) -> list:
    """Blocks with every table as a bulleted list of readable rows."""
    out: list = []
    for block in blocks:
        out.extend(block.rows() if isinstance(block, Table) else [block])
    return out


class InlineWriter:
    """Walks inline pieces once for every channel; a renderer supplies only its syntax.

    Keeping the walk here means a new inline piece (or a fix to how nesting is handled)
    reaches every channel at once, while escaping and link syntax stay per channel.
    """

    def __init__(self, sources: dict) -> None:
        self.sources = sources

    def write(self, pieces: tuple) -> str:
        out: list[str] = []
        for piece in pieces:
            if isinstance(piece, Text):
                out.append(self.text(piece.text))
            elif isinstance(piece, CodeSpan):
                out.append(self.code(piece.text))
            elif isinstance(piece, Cite):
                source = self.sources.get(piece.number)
                label = f"[{piece.number}]"
                out.append(self.link_text(source.url, label) if source and source.url else self.text(label))
            elif isinstance(piece, Link):
                out.append(self.link(piece.url, piece.children))
            elif isinstance(piece, (Strong, Em, Strike)):
                out.append(self.wrap(type(piece).__name__.lower(), self.write(piece.children)))
        return "".join(out)

    def text(self, text: str) -> str:
        return text

    def code(self, text: str) -> str:
        return text

    def link_text(self, url: str, label: str) -> str:
        """A link whose label is plain text (citations)."""
        return f"{label} ({url})"

    def link(self, url: str, children: tuple) -> str:
        return self.link_text(url, plain(children))

    def wrap(self, kind: str, inner: str) -> str:
        """`kind` is "strong", "em" or "strike"; `inner` is already written."""
        return inner


def plain(inlines: tuple, cite=lambda n: f"[{n}]", show_url=lambda url: url) -> str:
    """Inline pieces as unformatted text (notification fallbacks, SMS)."""
    parts: list[str] = []
    for piece in inlines:
        if isinstance(piece, Text):
            parts.append(piece.text)
        elif isinstance(piece, CodeSpan):
            parts.append(piece.text)
        elif isinstance(piece, Cite):
            parts.append(cite(piece.number))
        elif isinstance(piece, Link):
            label = plain(piece.children, cite, show_url)
            parts.append(show_url(piece.url) if label == piece.url else f"{label} ({show_url(piece.url)})")
        else:
            parts.append(plain(piece.children, cite, show_url))
    return "".join(parts)


_SENTENCE_END = re.compile(r"(?<=[.!?…])[)\"'”’]*\s+")


def split_text(text: str, limit: int) -> tuple[str, str]:
    """Cut `text` to at most `limit` characters at a sentence end, else a space."""
    if len(text) <= limit:
        return text, ""
    head = text[:limit]
    cut = -1
    for match in _SENTENCE_END.finditer(head):
        cut = match.end()
    if cut <= limit // 3:
        space = head.rfind(" ")
        cut = space + 1 if space > limit // 3 else limit
    return text[:cut].rstrip(), text[cut:].lstrip()


def split_inlines(inlines: tuple, render, limit: int) -> list[tuple]:
    """Split inline pieces into runs whose rendering is at most `limit` long.

    Only plain text is ever cut (at a sentence end or a space); a formatted piece that is
    too long on its own is flattened to text first, so no run opens a tag it does not
    close.
    """
    runs: list[tuple] = []
    current: list = []
    queue = list(inlines)
    while queue:
        piece = queue.pop(0)
        if render(tuple(current + [piece])) <= limit:
            current.append(piece)
            continue
        if not isinstance(piece, Text):
            if current and render((piece,)) <= limit:
                runs.append(tuple(current))
                current = []
                queue.insert(0, piece)
                continue
            queue.insert(0, Text(plain((piece,))))
            continue
        # Find the longest head of this text that still fits after `current`.
        low, high = 0, len(piece.text)
        while low < high:
            mid = (low + high + 1) // 2
            if render(tuple(current + [Text(piece.text[:mid])])) <= limit:
                low = mid
            else:
                high = mid - 1
        head, tail = split_text(piece.text, low) if low else ("", piece.text)
        if head:
            current.append(Text(head))
        if current:
            runs.append(tuple(current))
            current = []
        elif not head:  # cannot happen with a positive limit, but never loop forever
            head, tail = piece.text[: max(limit, 1)], piece.text[max(limit, 1) :]
            runs.append((Text(head),))
        if tail:
            queue.insert(0, Text(tail))
    if current:
        runs.append(tuple(current))
    return runs
