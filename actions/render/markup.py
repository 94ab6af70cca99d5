"""A small Markdown reader shared by the channel renderers.

Answers arrive as the light Markdown a model writes (or the extractive engine's plain
sentences) with `[n]` citation markers. Each channel has its own syntax and escaping
rules, so the text is read once into blocks and inline pieces here and every renderer
writes its own syntax from those, instead of rewriting Markdown with regexes per channel
(which breaks on URLs with `_` or `)`, and on `*` inside code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.answer.structure import is_table_start, row_line, table_cells

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


# --- inline parsing ------------------------------------------------------------------

_CITE = re.compile(r"\[(\d{1,3})\]")
_AUTOLINK = re.compile(r"<(https?://[^\s<>]+)>")
_BARE_URL = re.compile(r"https?://[^\s<>]+")
_ESCAPABLE = set("\\`*_{}[]()#+-.!|~<>")
_TRAILING = ".,;:!?'\"*"


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


def _match_brackets(text: str, start: int, open_: str, close: str) -> int:
    """Index of the bracket closing the one at `start`, or -1."""
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == open_:
            depth += 1
        elif char == close:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _is_word(char: str) -> bool:
    return char.isalnum()


def _find_closing(text: str, start: int, delim: str) -> int:
    """Position of a closing emphasis delimiter that is not preceded by a space."""
    i = start
    while True:
        i = text.find(delim, i)
        if i < 0:
            return -1
        if text[i - 1].isspace() or i == start:
            i += 1
            continue
        if len(delim) == 1 and text[i + 1 : i + 2] == delim:  # part of `**`
            i += 2
            continue
        if delim[0] == "_" and _is_word(text[i + len(delim) : i + len(delim) + 1]):
            i += 1
            continue
        return i


def parse_inline(text: str) -> tuple:
    out: list = []
    buffer: list[str] = []

    def flush() -> None:
        if buffer:
            out.append(Text("".join(buffer)))
            buffer.clear()

    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        prev = text[i - 1] if i else " "
        if char == "\\" and i + 1 < n and text[i + 1] in _ESCAPABLE:
            buffer.append(text[i + 1])
            i += 2
            continue
        if char == "`":
            run = len(text[i:]) - len(text[i:].lstrip("`"))
            fence = "`" * run
            end = text.find(fence, i + run)
            if end >= 0:
                flush()
                out.append(CodeSpan(text[i + run : end].strip() or text[i + run : end]))
                i = end + run
                continue
        if char == "[":
            cite = _CITE.match(text, i)
            if cite:
                flush()
                out.append(Cite(int(cite.group(1))))
                i = cite.end()
                continue
            close = _match_brackets(text, i, "[", "]")
            if close > 0 and text[close + 1 : close + 2] == "(":
                end = _match_brackets(text, close + 1, "(", ")")
                if end > 0:
                    target = text[close + 2 : end].strip()
                    url = target.split()[0] if target else ""
                    url = url[1:-1] if url.startswith("<") and url.endswith(">") else url
                    if url:
                        flush()
                        out.append(Link(url, parse_inline(text[i + 1 : close])))
                        i = end + 1
                        continue
        if char == "<":
            auto = _AUTOLINK.match(text, i)
            if auto:
                flush()
                out.append(Link(auto.group(1), (Text(auto.group(1)),)))
                i = auto.end()
                continue
        if char == "h" and not _is_word(prev):
            bare = _BARE_URL.match(text, i)
            if bare:
                url = _trim_url(bare.group(0))
                if len(url) > len("https://"):
                    flush()
                    out.append(Link(url, (Text(url),)))
                    i += len(url)
                    continue
        if char in "*_~":
            double = text[i : i + 2]
            if double in ("**", "__", "~~") and i + 2 < n and not text[i + 2].isspace():
                if not (char == "_" and _is_word(prev)):
                    end = _find_closing(text, i + 2, double)
                    if end > 0:
                        flush()
                        inner = parse_inline(text[i + 2 : end])
                        out.append(Strike(inner) if char == "~" else Strong(inner))
                        i = end + 2
                        continue
            elif char != "~" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != char:
                if not (char == "_" and _is_word(prev)):
                    end = _find_closing(text, i + 1, char)
                    if end > 0:
                        flush()
                        out.append(Em(parse_inline(text[i + 1 : end])))
                        i = end + 1
                        continue
        buffer.append(char)
        i += 1
    flush()
    return tuple(out)


# --- block parsing -------------------------------------------------------------------

_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)\s*$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^(\s*)([-*+•]|\d{1,3}[.)])\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")


def parse(text: str) -> Document:
    """Read Markdown into blocks; anything unrecognised stays a paragraph."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    doc = Document()
    paragraph: list[str] = []
    quote: list[str] = []
    indents: list[int] = []  # indentation of the open list levels
    item: dict | None = None

    def close_paragraph() -> None:
        if paragraph:
            doc.blocks.append(Paragraph(parse_inline("\n".join(paragraph))))
            paragraph.clear()
        if quote:
            doc.blocks.append(Quote(parse_inline("\n".join(quote))))
            quote.clear()

    def close_item() -> None:
        nonlocal item
        if item is not None:
            doc.blocks.append(ListItem(item["depth"], item["marker"], parse_inline(" ".join(item["lines"]))))
            item = None

    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            close_paragraph()
            close_item()
            marker = fence.group(1)
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(marker):
                body.append(lines[i])
                i += 1
            doc.blocks.append(CodeBlock("\n".join(body), fence.group(2)))
            i += 1
            continue
        if not line.strip():
            close_paragraph()
            close_item()
            i += 1
            continue
        if is_table_start(lines, i):
            close_paragraph()
            close_item()
            header = tuple(table_cells(line))
            body = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = table_cells(lines[i])
                body.append(tuple((cells + [""] * len(header))[: len(header)]))
                i += 1
            doc.blocks.append(Table(header, tuple(body)))
            continue
        heading = _HEADING.match(line)
        list_item = _ITEM.match(line)
        quoted = _QUOTE.match(line)
        if _RULE.match(line) and not list_item:
            close_paragraph()
            close_item()
        elif heading:
            close_paragraph()
            close_item()
            indents.clear()
            doc.blocks.append(Heading(len(heading.group(1)), parse_inline(heading.group(2))))
        elif list_item:
            close_paragraph()
            close_item()
            indent = len(list_item.group(1).expandtabs(4))
            while indents and indent < indents[-1]:
                indents.pop()
            if not indents or indent > indents[-1] + 1:
                indents.append(indent)
            depth = len(indents) - 1
            marker = list_item.group(2)
            marker = "" if marker in "-*+•" else marker.rstrip(")").rstrip(".") + "."
            item = {"depth": depth, "marker": marker, "lines": [list_item.group(3).strip()]}
        elif quoted and not paragraph:
            close_item()
            quote.append(quoted.group(1))
        elif item is not None and (line.startswith((" ", "\t")) or not paragraph):
            item["lines"].append(line.strip())  # a continuation of the list item
        else:
            if quote:
                close_paragraph()
            indents.clear()
            paragraph.append(line.strip())
        i += 1
    close_paragraph()
    close_item()
    return doc


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
