"""What the renderers rely on from the Markdown reader (markdown-it-py underneath), beyond
the golden files: the answers a model writes, read the way a customer would read them."""

from __future__ import annotations

from actions.render import markup as md


def blocks(text: str) -> list:
    return md.parse(text).blocks


def test_angle_brackets_stay_text_not_html():
    # "<usually under five>" is a valid HTML tag to CommonMark; in an answer it is prose.
    (paragraph,) = blocks("Restores within minutes <usually under five> [1].")
    assert md.plain(paragraph.inlines) == "Restores within minutes <usually under five> [1]."
    assert md.Cite(1) in paragraph.inlines


def test_an_indented_line_is_text_not_a_code_block():
    (paragraph,) = blocks("    Unplug the hub, then wait ten seconds.")
    assert isinstance(paragraph, md.Paragraph)


def test_bare_urls_are_links_without_the_sentence_punctuation():
    (paragraph,) = blocks("See https://example.com/reset_(hard)_guide. Or (https://example.com/a_b).")
    links = [p.url for p in paragraph.inlines if isinstance(p, md.Link)]
    assert links == ["https://example.com/reset_(hard)_guide", "https://example.com/a_b"]


def test_list_items_keep_their_numbers_and_nesting():
    items = blocks("Steps:\n1) Open the app\n2) Tap **Devices**\n   - then Wi-Fi\n3) Done")
    assert isinstance(items[0], md.Paragraph)
    assert [(b.depth, b.marker, md.plain(b.inlines)) for b in items[1:]] == [
        (0, "1.", "Open the app"),
        (0, "2.", "Tap Devices"),
        (1, "", "then Wi-Fi"),
        (0, "3.", "Done"),
    ]


def test_escapes_code_and_strike():
    (paragraph,) = blocks(r"Type \*now\* or `a*b*c`, not ~~old~~.")
    assert md.plain(paragraph.inlines) == "Type *now* or a*b*c, not old."
    assert md.CodeSpan("a*b*c") in paragraph.inlines
    assert any(isinstance(p, md.Strike) for p in paragraph.inlines)


def test_a_table_keeps_its_cells_as_written():
    (table,) = blocks("| Option | Cost |\n|---|---|\n| **Express** | $14.95 [1] |\n| Standard |")
    assert table.header == ("Option", "Cost")
    assert table.body == (("**Express**", "$14.95 [1]"), ("Standard", ""))
