"""Fixtures for the export tests: one tiny trained run (2-epoch MLP on iris), and its bundle.

Both are built once per session; tests copy them before changing anything.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from honed.spec.validate import validate_point

SPEC = {
    "name": "iris-mlp",
    "data": {"source": "builtin:iris"},
    "model": {"family": "mlp", "hidden": 8},
    "train": {"epochs": 2, "batch_size": 16},
}

#: a model family (``branchy_family:build``) whose export fails verification
BRANCHY = '''
from torch import nn


class Branchy(nn.Module):
    """Branches on the batch size: torch.export fixes the batch, tracing keeps one branch."""

    def __init__(self, inputs, outputs):
        super().__init__()
        self.head = nn.Linear(inputs, outputs)

    def forward(self, x):
        return self.head(x) if x.shape[0] == 2 else -self.head(x)


def build(input_shape, num_outputs, *, task="classification"):
    return Branchy(input_shape[0], num_outputs)
'''


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A finished ``honed train`` run dir (no bundle)."""
    from honed.train.session import train_spec

    run = tmp_path_factory.mktemp("trained") / "run"
    train_spec(validate_point(SPEC), out_dir=run, progress=False)
    return run


@pytest.fixture(scope="session")
def bundled_run(trained_run, tmp_path_factory) -> Path:
    """The trained run with a bundle holding a Triton repository."""
    from honed.export import export_bundle

    run = tmp_path_factory.mktemp("bundled") / "run"
    shutil.copytree(trained_run, run)
    export_bundle(run, formats=("onnx", "triton"))
    return run


def copy_of(folder: Path, tmp_path: Path) -> Path:
    """A copy of a run dir to change in one test."""
    target = tmp_path / folder.name
    shutil.copytree(folder, target)
    return target


def tree(folder: Path) -> list[str]:
    """Every path under ``folder``, relative, sorted (to check that nothing was written)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))
