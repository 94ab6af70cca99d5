"""Incremental ingestion into a real LanceDB directory."""

from pathlib import Path

from knowledge.ingest import ingest_folder
from knowledge.store import ChunkStore


def article(title: str, body: str) -> str:
    return f"---\ntitle: {title}\nurl: https://help.example/{title.lower()}\n---\n{body}\n"


def make_folder(tmp_path: Path) -> Path:
    root = tmp_path / "articles"
    root.mkdir()
    (root / "returns.md").write_text(
        article("Returns", "## Window\nReturn within 30 days.\n## Label\nPrint it.")
    )
    (root / "shipping.md").write_text(article("Shipping", "## Cost\nStandard shipping is $6.95."))
    return root


def test_incremental_ingest(tmp_path, embedder):
    root = make_folder(tmp_path)
    store = ChunkStore(str(tmp_path / "kb"))
    first = ingest_folder(root, store, embedder.embed)
    assert sorted(first.added) == ["returns", "shipping"] and not first.failed
    count = store.count()
    version = store.table.version

    again = ingest_folder(root, store, embedder.embed)
    assert not again.changed and sorted(again.unchanged) == ["returns", "shipping"]
    assert store.table.version == version  # nothing written

    (root / "shipping.md").write_text(article("Shipping", "## Cost\nStandard shipping is $7.95."))
    (root / "returns.md").unlink()
    (root / "broken.md").write_bytes(b"\xff\xfe bad bytes")
    third = ingest_folder(root, store, embedder.embed)
    assert third.updated == ["shipping"] and third.deleted == ["returns"]
    assert third.failed and third.failed[0][0].endswith("broken.md")
    rows = store.table.to_arrow().to_pylist()
    assert {r["article_id"] for r in rows} == {"shipping"}
    assert all("$7.95" in r["text"] for r in rows)
    assert count > len(rows)
    # Full-text search sees the edit.
    hits = store.text_search("7.95", 5)
    assert hits and hits[0]["article_id"] == "shipping"


def test_broken_edit_keeps_the_previous_version_of_an_article(tmp_path, embedder):
    root = make_folder(tmp_path)
    store = ChunkStore(str(tmp_path / "kb"))
    ingest_folder(root, store, embedder.embed)
    (root / "shipping.md").write_bytes(b"\xff\xfe broken")
    report = ingest_folder(root, store, embedder.embed)
    assert report.failed and not report.deleted
    assert "shipping" in store.article_hashes()
