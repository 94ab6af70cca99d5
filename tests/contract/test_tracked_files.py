"""The files a new user copies or reads (.env.example, credentials.yml, docs) are whole.

A merge once left conflict markers in .env.example for several sessions: a user copying it
got both sides of the conflict and the markers as variable lines. Every tracked text file
is checked, so a marker anywhere fails CI instead of reaching a user.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKERS = ("<<<<<<< ", ">>>>>>> ")


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode(
        "utf-8", "replace"
    )
    return [ROOT / name for name in out.split("\0") if name]


def test_no_tracked_file_holds_merge_conflict_markers():
    found = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue  # binary files (models, images) and files deleted in the worktree
        for number, line in enumerate(text.splitlines(), start=1):
            if line.startswith(MARKERS) or line == "=======" and path.suffix in {".example", ".yml", ".py"}:
                found.append(f"{path.relative_to(ROOT)}:{number}: {line[:40]}")
    assert not found, "merge-conflict markers:\n" + "\n".join(found)
