"""The code's layering, as import contracts (pyproject.toml, [tool.importlinter]): lib/ holds
plain functions with no Dagster import; the Dagster layer never imports the command line."""
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken" in result.stdout


def test_a_broken_contract_is_reported(tmp_path):
    """The check can fail: a lib module that imports dagster breaks the first contract."""
    import shutil

    copy = tmp_path / "repo"
    shutil.copytree(REPO / "pipeline", copy / "pipeline", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    (copy / "pipeline" / "lib" / "leak.py").write_text("import dagster\n")
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=copy, capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"})
    assert result.returncode != 0
    assert "pipeline.lib.leak -> dagster" in result.stdout
