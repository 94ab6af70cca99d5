"""The layer rules in pyproject's [tool.importlinter] hold, and a forbidden import breaks them.

Runs import-linter (installed in the action-server environment) on the tree as it is,
then on a copy with one forbidden import added, the way a careless change would add it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contract", "connectors", "actions", "knowledge", "rasa_ext", "rasa_sdk_plugins")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS.exists(), "import-linter is missing from this environment (requirements/actions.txt)"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The project's packages (Python files only) and its pyproject, in a scratch directory."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            tmp_path / package,
            ignore=lambda folder, names: [
                n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir()
            ],
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_layer_contract(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("connectors/slack/probe.py", "import actions.render\n", "connectors never import"),
        ("knowledge/probe.py", "from rasa_sdk import Action\n", "knowledge stands alone"),
        ("actions/render/probe.py", "from knowledge import retrieval\n", "renderers never import"),
        # a new channel reaching for the other side instead of going through contract/
        ("connectors/whatsapp/probe.py", "from actions.render import whatsapp\n", "connectors never import"),
        ("actions/render/probe.py", "from connectors.twilio import keywords\n", "renderers never import"),
        ("contract/probe.py", "import pydantic\n", "contract imports nothing third-party"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(tree: Path, module: str, line: str, contract: str) -> None:
    (tree / module).write_text(line)
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if row.endswith("BROKEN")]
    assert len(broken) == 1 and broken[0].startswith(contract), result.stdout
