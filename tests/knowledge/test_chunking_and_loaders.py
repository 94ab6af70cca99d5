from pathlib import Path

import pytest

from knowledge.chunking import MAX_CHARS, chunk_article, chunk_text
from knowledge.loaders import UnreadableArticle, find_article_files, load_article

ARTICLES = Path(__file__).resolve().parents[2] / "knowledge" / "articles"


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def test_markdown_front_matter_and_headings(tmp_path):
    path = write(
        tmp_path,
        "billing/refunds.md",
        "---\ntitle: Refunds\nurl: https://help.example/refunds\n---\nIntro text here.\n\n"
        "## Timing\nRefunds take 5 days.\n\n```\n# not a heading\n```\n## Method\nTo your card.\n",
    )
    article = load_article(path, tmp_path)
    assert article.article_id == "billing/refunds"
    assert (article.title, article.url) == ("Refunds", "https://help.example/refunds")
    assert [s.heading for s in article.sections] == ["Refunds", "Timing", "Method"]
    assert "# not a heading" in article.sections[1].text


def test_html_keeps_headings_and_link_text_but_not_navigation(tmp_path):
    path = write(
        tmp_path,
        "page.html",
        "<html><head><title>T</title><link rel='canonical' href='https://h/x'></head><body>"
        "<nav>Home | Products</nav><h1>Returns</h1><p>See <a href='/p'>the policy</a> first.</p>"
        "<h2>Window</h2><ul><li>30 days</li></ul><script>alert(1)</script></body></html>",
    )
    article = load_article(path, tmp_path)
    assert article.title == "Returns" and article.url == "https://h/x"
    text = " ".join(s.text for s in article.sections)
    assert "the policy" in text and "30 days" in text
    assert "Products" not in text and "alert" not in text
    assert [s.heading for s in article.sections] == ["Returns", "Window"]


def test_bad_files_raise_a_readable_reason(tmp_path):
    with pytest.raises(UnreadableArticle, match="UTF-8"):
        load_article(write(tmp_path, "bad.md", b"\xff\xfe\x00bad"), tmp_path)
    with pytest.raises(UnreadableArticle, match="PDF"):
        load_article(write(tmp_path, "bad.pdf", b"not a pdf"), tmp_path)
    with pytest.raises(UnreadableArticle, match="no text"):
        load_article(write(tmp_path, "empty.md", "---\ntitle: x\n---\n"), tmp_path)


def test_chunks_respect_the_size_bound_and_overlap():
    paragraph = " ".join(f"Sentence number {i} is here." for i in range(60))
    chunks = chunk_text(paragraph + "\n\n" + paragraph)
    assert len(chunks) > 2
    assert all(len(c) <= MAX_CHARS for c in chunks)
    # The last sentence of a chunk opens the next one.
    last_sentence = chunks[0].split("\n\n")[-1]
    assert chunks[1].startswith(last_sentence)


def test_chunk_ids_are_stable_and_keep_metadata(tmp_path):
    path = write(tmp_path, "a.md", "---\ntitle: A\nurl: u\n---\n## One\nFirst.\n## Two\nSecond.\n")
    first = chunk_article(load_article(path, tmp_path))
    second = chunk_article(load_article(path, tmp_path))
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert {(c.article_id, c.title, c.url) for c in first} == {("a", "A", "u")}
    assert [c.section for c in first] == ["One", "Two"]
    # Editing section Two keeps section One's id.
    path.write_text("---\ntitle: A\nurl: u\n---\n## One\nFirst.\n## Two\nChanged.\n")
    edited = chunk_article(load_article(path, tmp_path))
    assert edited[0].chunk_id == first[0].chunk_id and edited[1].chunk_id != first[1].chunk_id


def test_sample_articles_all_load_with_title_and_url():
    files = find_article_files(ARTICLES)
    assert len(files) >= 25
    for path in files:
        article = load_article(path, ARTICLES)
        assert article.title and article.url.startswith("https://"), path


def _long_table(rows: int = 12) -> str:
    lines = ["| Category | Examples | Why we need it |", "|---|---|---|"]
    lines += [
        f"| **Kind {i}** | Example data number {i}, and more of it | Reason number {i} for keeping it |"
        for i in range(rows)
    ]
    return "\n".join(lines)


def test_a_table_too_long_for_one_chunk_stays_a_table_in_each_chunk():
    # Before: the rows were joined by blank lines, so the answerer read each row (and the
    # "|---|---|---|" rule) as a paragraph and quoted the rule line to an SMS customer.
    from knowledge.answer.structure import parse_blocks

    table = _long_table()
    assert len(table) > MAX_CHARS
    chunks = chunk_text("Intro sentence.\n\n" + table)
    assert len(chunks) >= 2 and all(len(c) <= MAX_CHARS for c in chunks)
    first = [b for b in parse_blocks(chunks[0]) if b.kind == "table"]
    assert first and first[0].header == ["Category", "Examples", "Why we need it"]
    for chunk in chunks:
        assert "|\n\n|" not in chunk  # no blank line between two lines of the table
    # Every row is in some chunk, once per chunk, in order.
    rows = [line for c in chunks for line in c.split("\n") if line.startswith("| **Kind")]
    assert [r.split("**")[1] for r in dict.fromkeys(rows)] == [f"Kind {i}" for i in range(12)]
