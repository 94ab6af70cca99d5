"""The structure of a help-article section: paragraphs, lists and tables.

The extractive answer quotes sections, not loose sentences: a numbered step only makes
sense in its list, a price only next to the row it belongs to. This module reads a
section's Markdown into blocks whose parts (a sentence, a list item, a table row) can be
scored against a question and written back out, whole or in part, with the structure
kept. It also turns a table row into the readable line channels without tables show
("Canada, UK, EU: $19.95 flat rate, 7-12 business days"), and projects an answer to
plain text for the fact and wording checks of `kb eval`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge.chunking import split_sentences

_ITEM = re.compile(r"^(\s*)([-*+]|\d{1,3}[.)])\s+(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_MARKUP = re.compile(r"(\*\*|__|\*|`)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^()\s]|\([^()]*\))+\)")
_CITE = re.compile(r"\s?\[\d{1,3}\]")
_WORDS = re.compile(r"\S+")
# A header value this short ("Yes", "$169", "—") means nothing without its column name.
SHORT_VALUE_WORDS = 2


@dataclass
class Item:
    depth: int
    marker: str  # "-" or "3." as written
    text: str


@dataclass
class Block:
    kind: str  # "paragraph", "list" or "table"
    sentences: list[str] = field(default_factory=list)  # paragraph
    items: list[Item] = field(default_factory=list)  # list
    header: list[str] = field(default_factory=list)  # table
    rows: list[list[str]] = field(default_factory=list)  # table

    def parts(self) -> list[str]:
        """What the question is compared with: sentences, items, or rows as lines."""
        if self.kind == "paragraph":
            return list(self.sentences)
        if self.kind == "list":
            return [item.text for item in self.items]
        return [row_line(self.header, row, self.rows) for row in self.rows]

    def render(self, keep: list[int] | None = None) -> str:
        """Markdown of the block, or of the parts whose indexes are in `keep`."""
        chosen = range(len(self.parts())) if keep is None else sorted(set(keep))
        if self.kind == "paragraph":
            return " ".join(self.sentences[i] for i in chosen)
        if self.kind == "list":
            return "\n".join(
                "   " * self.items[i].depth + f"{self.items[i].marker} {self.items[i].text}" for i in chosen
            )
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(self.rows[i]) + " |" for i in chosen]
        return "\n".join(lines)

    @property
    def intro(self) -> bool:
        """A paragraph that leads into what follows ("If you see this message:")."""
        return (
            self.kind == "paragraph"
            and bool(self.sentences)
            and strip_markup(self.sentences[-1]).rstrip().endswith(":")
        )


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", line)]


def parse_blocks(text: str) -> list[Block]:
    """Blocks of a section's Markdown; anything unrecognised reads as a paragraph."""
    blocks: list[Block] = []
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    paragraph: list[str] = []

    def close_paragraph() -> None:
        if paragraph:
            blocks.append(Block("paragraph", sentences=split_sentences(" ".join(paragraph))))
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        if not line.strip():
            close_paragraph()
            i += 1
            continue
        if line.lstrip().startswith("|") and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            close_paragraph()
            header = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = _cells(lines[i])
                rows.append((cells + [""] * len(header))[: len(header)])
                i += 1
            blocks.append(Block("table", header=header, rows=rows))
            continue
        item = _ITEM.match(line)
        if item:
            close_paragraph()
            items: list[Item] = []
            indents: list[int] = []
            while i < len(lines) and lines[i].strip():
                match = _ITEM.match(lines[i])
                if match:
                    indent = len(match.group(1).expandtabs(4))
                    while indents and indent < indents[-1]:
                        indents.pop()
                    if not indents or indent > indents[-1] + 1:
                        indents.append(indent)
                    items.append(Item(len(indents) - 1, match.group(2), match.group(3).strip()))
                elif items:  # a wrapped continuation of the item above
                    items[-1].text += " " + lines[i].strip()
                i += 1
            blocks.append(Block("list", items=items))
            continue
        paragraph.append(line.strip())
        i += 1
    close_paragraph()
    return [b for b in blocks if b.parts()]


def _words(text: str) -> int:
    return len(_WORDS.findall(strip_markup(text)))


def row_line(header: list[str], row: list[str], all_rows: list[list[str]] | None = None) -> str:
    """One table row as a readable line, keeping a column's name where its values need it.

    The first cell labels the row. A column whose values are all very short ("Yes",
    "$169") gets its header ("Restart: Yes"), and so does every column of a table whose
    first header cell is empty (a comparison: "Plus: $4.99/month").
    """
    all_rows = all_rows or [row]
    label, values = row[0], row[1:]
    comparison = not strip_markup(header[0]).strip() if header else False
    parts = []
    for column, value in enumerate(values, start=1):
        name = header[column] if column < len(header) else ""
        short = all(_words(r[column]) <= SHORT_VALUE_WORDS for r in all_rows if column < len(r))
        if name and (comparison or (short and len(header) > 2)):
            parts.append(f"{name}: {value}")
        else:
            parts.append(value)
    joiner = "; " if any("," in p or ":" in p for p in parts) else ", "
    lead = " — " if any(":" in p for p in parts) else ": "
    return f"{label}{lead}{joiner.join(parts)}" if label else joiner.join(parts)


def strip_markup(text: str) -> str:
    """Markdown emphasis, code marks and link syntax removed; link text kept."""
    return _MARKUP.sub("", _LINK.sub(r"\1", text))


def is_table_start(lines: list[str], i: int) -> bool:
    return lines[i].lstrip().startswith("|") and i + 1 < len(lines) and bool(_TABLE_RULE.match(lines[i + 1]))


def table_cells(line: str) -> list[str]:
    return _cells(line)


def tables_as_rows(markdown: str) -> str:
    """Markdown with every table replaced by a bullet list of readable rows.

    For text shown where tables do not render (REST clients, plain chat widgets); the
    rest of the Markdown is left exactly as it was.
    """
    lines = markdown.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if is_table_start(lines, i):
            header = _cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                rows.append((_cells(lines[i]) + [""] * len(header))[: len(header)])
                i += 1
            out.extend("- " + row_line(header, row, rows) for row in rows)
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def to_plain(markdown: str) -> str:
    """An answer as a customer reads it on a plain channel: tables as rows, no markup,
    no citation markers. The fact and wording checks of `kb eval` read this."""
    out: list[str] = []
    for chunk in re.split(r"\n\s*\n", markdown.strip()):
        lines = chunk.split("\n")
        if len(lines) >= 2 and lines[0].lstrip().startswith("|") and _TABLE_RULE.match(lines[1]):
            block = parse_blocks(chunk)[0]
            out.extend("- " + row_line(block.header, row, block.rows) for row in block.rows)
        else:
            out.extend(lines)
    return "\n".join(strip_markup(_CITE.sub("", line)).rstrip() for line in out if line.strip())


__all__ = [
    "Block",
    "Item",
    "is_table_start",
    "parse_blocks",
    "row_line",
    "strip_markup",
    "table_cells",
    "tables_as_rows",
    "to_plain",
]
