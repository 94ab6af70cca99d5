"""Count the lines of our code that depend on Rasa's internals.

    .venv-rasa/bin/python scripts/rasa_internals.py [--ref GIT_REF] [PATH ...]

The measure of issue 21: the lines of the guarded module (rasa_ext/patches.py, where every
patch of Rasa lives) plus every other line that touches a private Rasa name (an attribute
or function whose name starts with one underscore and that Rasa's own source defines).
Such a line breaks silently when Rasa changes; the guarded module at least refuses to run
on another Rasa version. `--ref` counts a past commit (e.g. the one before the rework).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUARDED = "rasa_ext/patches.py"
DEFAULT_PATHS = ("rasa_ext", "connectors", "scripts/stack.py")
_DEFINED = re.compile(r"(?:def |self\.|^)(_[a-zA-Z]\w*)\s*[(=:]", re.M)
_USED = re.compile(r"(?:\.|\"|')(_[a-zA-Z]\w*)\b")


@lru_cache(maxsize=1)
def rasa_private_names() -> frozenset[str]:
    import rasa

    names: set[str] = set()
    for path in Path(rasa.__file__).parent.rglob("*.py"):
        names.update(_DEFINED.findall(path.read_text(encoding="utf-8", errors="replace")))
    return frozenset(n for n in names if not n.startswith("__"))


def files(paths: tuple[str, ...], ref: str | None) -> dict[str, str]:
    """Python sources under `paths`, from the work tree or from a git commit."""
    if ref is None:
        found = {}
        for base in paths:
            target = ROOT / base
            for path in [target] if target.is_file() else sorted(target.rglob("*.py")):
                found[str(path.relative_to(ROOT))] = path.read_text(encoding="utf-8")
        return found
    listed = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", ref, "--", *paths], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    return {
        name: subprocess.run(
            ["git", "show", f"{ref}:{name}"], cwd=ROOT, capture_output=True, text=True
        ).stdout
        for name in listed
        if name.endswith(".py")
    }


def count(sources: dict[str, str]) -> dict[str, dict[str, int]]:
    """Per file: its lines, and the lines touching a private Rasa name (all, if guarded)."""
    private = rasa_private_names()
    table = {}
    for name, text in sources.items():
        lines = text.splitlines()
        # Our own helpers: module-level functions and attributes we assign. A method named
        # like a private Rasa method is an override of it, and counts.
        ours = set(re.findall(r"^def (_[a-zA-Z]\w*)", text, re.M))
        ours |= set(re.findall(r"self\.(_[a-zA-Z]\w*)\s*(?::[^=]*)?=[^=]", text))
        touching = [
            line
            for line in lines
            if any(n in private and n not in ours for n in _USED.findall(line.split("#", 1)[0]))
            or any(n in private for n in re.findall(r"^\s+(?:async )?def (_[a-zA-Z]\w*)", line))
        ]
        counted = len(lines) if name == GUARDED else len(touching)
        if counted:
            table[name] = {"lines": len(lines), "counted": counted}
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    parser.add_argument("--ref", default=None, help="a git commit instead of the work tree")
    args = parser.parse_args(argv)
    table = count(files(tuple(args.paths), args.ref))
    width = max([len(n) for n in table] + [10])
    for name, row in sorted(table.items()):
        print(f"{name:<{width}}  {row['counted']:>4} of {row['lines']:>4} lines")
    print(f"{'total':<{width}}  {sum(r['counted'] for r in table.values()):>4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
