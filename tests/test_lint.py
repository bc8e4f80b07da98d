"""The code passes ruff's pyflakes checks (pyproject.toml [tool.ruff]): no unused imports, undefined names or
shadowed definitions slip into a submission."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e .[dev])")
    result = subprocess.run([ruff, "check", "--no-cache", "engine", "gui", "tests", "build_scripts"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
