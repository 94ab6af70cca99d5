"""Turn files of a help centre into `Article`s split at their headings.

Each format keeps what a citation needs: the title, the public URL, the heading a passage
sits under, and for PDFs the page number.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import yaml

from knowledge.documents import Article, Section

SUPPORTED_SUFFIXES = {".md", ".markdown", ".txt", ".html", ".htm", ".pdf"}

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


class UnreadableArticle(Exception):
    """A file that cannot be turned into an article; ingestion reports it and goes on."""


def article_id_for(path: Path, root: Path) -> str:
    return path.relative_to(root).with_suffix("").as_posix()


def _hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _title_from_id(article_id: str) -> str:
    stem = article_id.rsplit("/", 1)[-1]
    return re.sub(r"[-_]+", " ", stem).strip().capitalize() or article_id


def split_markdown(body: str, title: str) -> tuple[Section, ...]:
    """Split at headings, ignoring `#` lines inside fenced code blocks."""
    sections: list[Section] = []
    heading = title
    lines: list[str] = []
    in_fence = False
    for line in body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            text = "\n".join(lines).strip()
            if text:
                sections.append(Section(heading=heading, text=text))
            heading = match.group(2).strip()
            lines = []
        else:
            lines.append(line)
    text = "\n".join(lines).strip()
    if text:
        sections.append(Section(heading=heading, text=text))
    return tuple(sections)


def load_markdown(path: Path, article_id: str, raw: bytes) -> Article:
    text = raw.decode("utf-8")
    meta: dict = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            meta = yaml.safe_load(match.group(1)) or {}
        except yaml.YAMLError as exc:
            raise UnreadableArticle(f"invalid front matter: {exc}") from exc
        if not isinstance(meta, dict):
            raise UnreadableArticle("front matter is not a mapping")
        text = text[match.end() :]
    title = str(meta.get("title") or "").strip()
    if not title:
        first = _HEADING.match(text.lstrip().split("\n", 1)[0]) if text.strip() else None
        title = first.group(2).strip() if first else _title_from_id(article_id)
    url = str(meta.get("url") or "").strip()
    return Article(
        article_id=str(meta.get("id") or article_id),
        title=title,
        url=url,
        sections=split_markdown(text, title),
        source_path=str(path),
        content_hash=_hash(raw),
    )


def load_text(path: Path, article_id: str, raw: bytes) -> Article:
    text = raw.decode("utf-8")
    title = _title_from_id(article_id)
    paragraphs = text.strip()
    return Article(
        article_id=article_id,
        title=title,
        url="",
        sections=(Section(heading=title, text=paragraphs),) if paragraphs else (),
        source_path=str(path),
        content_hash=_hash(raw),
    )


def load_html(path: Path, article_id: str, raw: bytes) -> Article:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "aside", "form", "noscript"]):
        tag.decompose()
    canonical = soup.find("link", rel="canonical")
    url = canonical.get("href", "") if canonical else ""
    h1 = soup.find("h1")
    title_tag = soup.find("title")
    title = (
        (h1.get_text(" ", strip=True) if h1 else "")
        or (title_tag.get_text(" ", strip=True) if title_tag else "")
        or _title_from_id(article_id)
    )
    body = soup.find("main") or soup.find("article") or soup.body or soup
    sections: list[Section] = []
    heading = title
    buffer: list[str] = []
    for element in body.find_all(["h1", "h2", "h3", "h4", "p", "li", "pre", "td", "th"]):
        text = element.get_text(" ", strip=True)
        if not text:
            continue
        if element.name in {"h1", "h2", "h3", "h4"}:
            if buffer:
                sections.append(Section(heading=heading, text="\n".join(buffer)))
            heading, buffer = text, []
        elif element.find_parent(["li", "td", "th"]) is None or element.name in {"li", "td", "th"}:
            buffer.append(("- " if element.name == "li" else "") + text)
    if buffer:
        sections.append(Section(heading=heading, text="\n".join(buffer)))
    return Article(article_id, title, str(url), tuple(sections), str(path), _hash(raw))


def load_pdf(path: Path, article_id: str, raw: bytes) -> Article:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        title = ""
        if reader.metadata and reader.metadata.title:
            title = str(reader.metadata.title).strip()
        title = title or _title_from_id(article_id)
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            text = (page.extract_text() or "").strip()
            if text:
                sections.append(Section(heading=f"{title}, page {number}", text=text, page=number))
    except (PdfReadError, ValueError, KeyError) as exc:
        raise UnreadableArticle(f"not a readable PDF: {exc}") from exc
    return Article(article_id, title, "", tuple(sections), str(path), _hash(raw))


_LOADERS = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
}


def load_article(path: Path, root: Path) -> Article:
    """Load one file; any failure becomes `UnreadableArticle` with a reason a person can act on."""
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        raise UnreadableArticle(f"unsupported file type {path.suffix!r}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableArticle(f"cannot read file: {exc.strerror or exc}") from exc
    try:
        article = loader(path, article_id_for(path, root), raw)
    except UnicodeDecodeError as exc:
        raise UnreadableArticle(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if not article.sections:
        raise UnreadableArticle("no text found")
    return article


def find_article_files(root: Path) -> list[Path]:
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
        and p.name.upper() != "README.MD"
    )
