"""Tiny finished runs to compress, trained once per session and copied per test."""

from __future__ import annotations

import shutil

import pytest
import torch


def _train(folder, raw):
    from honed.spec import spec_from_dict
    from honed.train.session import train_spec

    torch.set_num_threads(1)
    train_spec(spec_from_dict(raw), out_dir=folder, progress=False)
    return folder


@pytest.fixture(scope="session")
def _digits_cnn(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("runs") / "digits", {
        "name": "digits", "data": {"source": "builtin:digits", "limit": 600},
        "model": {"family": "cnn", "channels": [8, 16], "hidden": 32},
        "train": {"epochs": 4, "optimizer": {"name": "adamw", "lr": 0.01}, "threads": 1}})


@pytest.fixture(scope="session")
def _wine_mlp(tmp_path_factory):
    return _train(tmp_path_factory.mktemp("runs") / "wine", {
        "name": "wine", "data": {"source": "builtin:wine"},
        "model": {"family": "mlp", "hidden": 32},
        "train": {"epochs": 10, "optimizer": {"name": "adamw", "lr": 0.01}, "threads": 1}})


@pytest.fixture
def digits_run(_digits_cnn, tmp_path):
    """A copy of a finished digits CNN run (600 rows, 4 epochs) that a test may change."""
    return shutil.copytree(_digits_cnn, tmp_path / "digits")


@pytest.fixture
def wine_run(_wine_mlp, tmp_path):
    return shutil.copytree(_wine_mlp, tmp_path / "wine")


#: latency measurements short enough for tests
FAST = {"repeats": 5, "warmup": 1, "budget_s": 0.2}
