"""The import contracts (.importlinter) catch what they promise to catch: a copy of the source
with one deliberate violation each is refused by ``lint-imports`` and by the cycle script."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory) -> Path:
    """The package and the contracts, copied: violations are added to the copy only."""
    root = tmp_path_factory.mktemp("arch")
    shutil.copytree(
        REPO / "src" / "haoka",
        root / "haoka",
        ignore=shutil.ignore_patterns("__pycache__", "migrations", "templates", "static"),
    )
    shutil.copy(REPO / ".importlinter", root / ".importlinter")
    return root


def _lint(root: Path, *contracts: str) -> subprocess.CompletedProcess:
    args = [str(LINT_IMPORTS), "--no-cache", *(f"--contract={c}" for c in contracts)]
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(args, cwd=root, env=env, capture_output=True, text=True, timeout=120)


def _add(root: Path, module: str, source: str) -> None:
    (root / Path(*module.split("."))).with_suffix(".py").write_text(source)


def test_a_lower_layer_importing_a_higher_one_breaks_the_layers_contract(source_copy):
    _add(source_copy, "haoka.catalog.upward", "from haoka.orders import queries\n")
    result = _lint(source_copy, "layers")
    assert result.returncode == 1
    assert "haoka.catalog.upward -> haoka.orders.queries" in result.stdout


def test_an_import_of_another_domains_models_breaks_its_contract(source_copy):
    _add(source_copy, "haoka.numbers.peek", "from haoka.kyc.models import KycRecord\n")
    result = _lint(source_copy, "kyc-models")
    assert result.returncode == 1
    assert "haoka.numbers.peek -> haoka.kyc.models" in result.stdout


def test_hand_written_sql_outside_a_store_breaks_the_rows_contract(source_copy):
    _add(source_copy, "haoka.catalog.sneaky", "from haoka.core import rows\n")
    result = _lint(source_copy, "rows")
    assert result.returncode == 1
    assert "haoka.catalog.sneaky -> haoka.core.rows" in result.stdout


def test_the_cycle_script_names_the_imports_of_a_cycle_between_domains(source_copy):
    _add(source_copy, "haoka.core.loop", "from haoka.numbers import queries\n")
    env = {**os.environ, "PYTHONPATH": str(source_copy)}
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "import_cycles.py")],
        cwd=source_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "haoka.core.loop -> haoka.numbers.queries" in result.stdout
