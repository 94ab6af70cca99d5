"""Count the lines of our code that depend on Rasa's internals.

    .venv-rasa/bin/python scripts/rasa_internals.py [--ref GIT_REF] [--tests] [PATH ...]

The measure of issue 21: the lines of the guarded module (rasa_ext/patches.py, where every
patch of Rasa lives) plus every other line that touches a private Rasa name (an attribute
or function whose name starts with one underscore and that Rasa's own source defines).
Such a line breaks silently when Rasa changes; the guarded module at least refuses to run
on another Rasa version. `--ref` counts a past commit (e.g. the one before the rework).
By default every folder of code that runs under the Rasa interpreter is read (the action
server's venv has no Rasa); `--tests` adds the tests, which read a few private names to
compare a patch with Rasa's own path and are listed apart.

A private Rasa name is one that Rasa's source defines (a function, class, method or
attribute, at any indentation) and that starts with one underscore. A line touches one
when it reads it as an attribute (`obj._name`), by string (`getattr(obj, "_name")`),
imports it (`from rasa... import _name`) or uses a name so imported, or overrides a
method of that name in a class.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUARDED = "rasa_ext/patches.py"
DEFAULT_PATHS = ("rasa_ext", "connectors", "scripts", "bench", "contract")
TEST_PATHS = ("tests",)
_DEFINED = re.compile(r"(?:def |class |self\.|cls\.|^[ \t]*)(_[a-zA-Z]\w*)\s*[(=:]", re.M)


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


def touching_lines(text: str, private: frozenset[str]) -> set[int]:
    """Line numbers (1-based) of `text` that touch a private Rasa name, read from its syntax
    tree: docstrings, comments and our own classes' private helpers do not count."""
    tree = ast.parse(text)
    from_rasa = {  # names bound by `from rasa... import name [as alias]`, alias -> name
        alias.asname or alias.name: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "rasa"
        for alias in node.names
    }
    ours: set[str] = set()  # private names our own (non-Rasa) classes and module define
    rasa_classes: list[ast.ClassDef] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
            if bases & set(from_rasa) or any("rasa" in ast.unparse(b) for b in node.bases):
                rasa_classes.append(node)
                continue
            for item in ast.walk(node):
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    ours.add(item.name)
                elif isinstance(item, ast.Attribute) and isinstance(item.ctx, ast.Store):
                    ours.add(item.attr)
    ours |= {
        n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    lines: set[int] = set()
    for cls in rasa_classes:  # overriding a private method of a Rasa class
        for item in cls.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name in private:
                lines.add(item.lineno)
    for node in ast.walk(tree):
        hit = (
            (isinstance(node, ast.Attribute) and node.attr in private and node.attr not in ours)
            or (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in private)
            or (isinstance(node, ast.Name) and from_rasa.get(node.id) in private)
            or (
                isinstance(node, ast.ImportFrom)
                and any(from_rasa.get(a.asname or a.name) in private for a in node.names)
            )
        )
        if hit:
            lines.add(node.lineno)
    return lines


def count(sources: dict[str, str]) -> dict[str, dict[str, int]]:
    """Per file: its lines, and the lines touching a private Rasa name (all, if guarded)."""
    private = rasa_private_names()
    table = {}
    for name, text in sources.items():
        lines = text.splitlines()
        counted = len(lines) if name == GUARDED else len(touching_lines(text, private))
        if counted:
            table[name] = {"lines": len(lines), "counted": counted}
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    parser.add_argument("--ref", default=None, help="a git commit instead of the work tree")
    parser.add_argument("--tests", action="store_true", help="also count the tests, listed apart")
    args = parser.parse_args(argv)
    table = count(files(tuple(args.paths), args.ref))
    if args.tests:
        table.update({f"{name} (test)": row for name, row in count(files(TEST_PATHS, args.ref)).items()})
    width = max([len(n) for n in table] + [10])
    for name, row in sorted(table.items()):
        print(f"{name:<{width}}  {row['counted']:>4} of {row['lines']:>4} lines")
    product = sum(r["counted"] for n, r in table.items() if not n.endswith("(test)"))
    print(f"{'total (code that runs)':<{width}}  {product:>4}")
    if args.tests:
        tests = sum(r["counted"] for n, r in table.items() if n.endswith("(test)"))
        print(f"{'tests':<{width}}  {tests:>4}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
