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


def test_kb_ingest_recalibrates_when_articles_change_and_only_then(tmp_path, monkeypatch, capsys):
    import shutil

    from knowledge.calibration import Calibration
    from knowledge.cli import main
    from knowledge.config import SAMPLE_ARTICLES

    root = tmp_path / "articles"
    root.mkdir()
    for name in ("reset-your-password", "unlock-your-account", "track-your-order", "warranty"):
        shutil.copy(SAMPLE_ARTICLES / f"{name}.md", root / f"{name}.md")
    uri = str(tmp_path / "kb")
    monkeypatch.setenv("KB_URI", uri)
    assert main(["ingest", str(root), "--quiet"]) == 0
    assert "calibrated on" in capsys.readouterr().out
    store = ChunkStore(uri)
    stored = Calibration.from_json(store.load_calibration())
    assert "leave-one-article-out" in stored.bars_from
    assert store.calibration_fingerprint() == store.content_fingerprint()
    # nothing changed: no second calibration
    assert main(["ingest", str(root), "--quiet"]) == 0
    assert "calibrated on" not in capsys.readouterr().out
    # an article goes away: the bars are set again for what is left
    (root / "warranty.md").unlink()
    assert main(["ingest", str(root), "--quiet"]) == 0
    assert "calibrated on" in capsys.readouterr().out
    assert ChunkStore(uri).calibration_fingerprint() == ChunkStore(uri).content_fingerprint()
