"""Shared fixtures: determinism, and a guard that fails any test leaving files behind."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A runner started in the background by a non-interactive shell (`.ci/run &`) has SIGINT
# ignored, and every process it starts inherits that: honed would then never see the Ctrl-C
# the tests send it. A handler (unlike SIG_IGN) is reset to the default in a started process.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

_IGNORED = {"__pycache__", ".pytest_cache", ".ruff_cache", ".venv", "venv", ".git"}


def _snapshot(folder: Path) -> set[str]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in _IGNORED and not d.endswith(".egg-info")]
        rel = os.path.relpath(dirpath, folder)
        out.update(os.path.join(rel, name) for name in filenames)
        out.update(os.path.join(rel, name) + "/" for name in dirnames)
    return out


def pytest_configure(config):
    """Hypothesis keeps a cache of what it learns in ``./.hypothesis`` (even with
    ``database=None``), written when a ``@given`` test is collected, and ``.`` is the repository
    then: give it a temp folder for the session instead."""
    try:
        from hypothesis.configuration import set_hypothesis_home_dir
    except ImportError:  # the dev extra brings it; without it there is no cache to move
        return
    config._hypothesis_home = tempfile.mkdtemp(prefix="honed-hypothesis-")
    set_hypothesis_home_dir(config._hypothesis_home)


def pytest_unconfigure(config):
    home = getattr(config, "_hypothesis_home", None)
    if home:
        shutil.rmtree(home, ignore_errors=True)


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
