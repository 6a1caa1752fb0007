"""Lint and types are part of the suite, so CI holds them."""

import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow  # ruff and mypy over the tree


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_finds_nothing():
    result = run("ruff", "check", "rag", "tests", "app.py")
    assert result.returncode == 0, result.stdout


def test_mypy_finds_nothing():
    result = run("mypy", "rag", "app.py")
    assert result.returncode == 0, result.stdout
