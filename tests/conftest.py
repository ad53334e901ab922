"""Shared fixtures: determinism, and a guard that fails any test leaving files behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_IGNORED = {"__pycache__", ".pytest_cache", ".ruff_cache", ".venv", "venv", ".git"}


def _snapshot(folder: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in _IGNORED and not d.endswith(".egg-info")]
        rel = os.path.relpath(dirpath, folder)
        out.update(os.path.join(rel, name) for name in filenames)
        out.update(os.path.join(rel, name) + "/" for name in dirnames)
    return out


@pytest.fixture(autouse=True)
def no_files_left_behind(monkeypatch, tmp_path):
    """Run each test in its own temp folder and fail it if it writes into the repository."""
    before = _snapshot(ROOT)
    monkeypatch.chdir(tmp_path)
    yield
    added = _snapshot(ROOT) - before
    if added:
        pytest.fail(f"test left files in the repository: {sorted(added)[:5]}")


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same global random state."""
    import random

    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield
