"""data.workers: auto under DDP: each rank of ``honed train --nproc 2``, and each rank of a
trial's group started by a search worker, takes its share of the cores and says so, with its
rank, once; CPU with gloo on a tiny streamed .npy set."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from honed.cpu import PROCESSES_VARIABLE, usable_cores
from honed.data import prepare_data
from honed.data.loader_workers import choose_workers
from honed.spec.template import spec_from_dict
from honed.train.group_fit import SpecData, fit_in_group
from honed.train.session import build_model

TRAIN = {"epochs": 1, "batch_size": 17, "threads": 1, "probes": False, "device": "cpu"}


@pytest.fixture
def arrays(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("HONED_DDP_TIMEOUT", "60")  # a mistake fails the test, never hangs it
    monkeypatch.delenv(PROCESSES_VARIABLE, raising=False)
    rng = np.random.default_rng(0)
    folder = tmp_path / "arrays"
    folder.mkdir()
    np.save(folder / "x.npy", rng.normal(size=(48, 3, 6, 6)).astype(np.float32))
    np.save(folder / "y.npy", rng.integers(0, 2, 48))
    return folder


def test_each_rank_of_honed_train_nproc_takes_its_share(tmp_path, arrays):
    spec = {"name": "ddp", "data": {"source": str(arrays), "stream": True},
            "model": {"family": "cnn", "hidden": 4}, "train": TRAIN}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    done = subprocess.run([sys.executable, "-m", "honed.cli.main", "train", "spec.json",
                           "--nproc", "2", "--out", "run", "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    expected = choose_workers("auto", cores=usable_cores(), processes=2)
    lines = done.stderr.splitlines()
    for rank in (0, 1):
        assert lines.count(f"rank {rank}/2: {expected.describe()}") == 1, done.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (metrics["data_workers"], metrics["data_workers_chosen"]) == (
        expected.workers, expected.reason)


def test_a_trial_group_of_a_search_worker_counts_every_rank(arrays, monkeypatch, capfd):
    raw = {"name": "group", "data": {"source": str(arrays), "stream": True},
           "model": {"family": "cnn", "hidden": 4}, "train": TRAIN}
    spec = spec_from_dict(raw).default
    data = prepare_data(spec.data, seed=spec.seed)
    monkeypatch.setenv(PROCESSES_VARIABLE, "2")  # one of two search workers on this machine
    result = fit_in_group(build_model(spec, data), data, nproc=2, source=SpecData.of(spec),
                          train=spec.train, seed=spec.seed)
    expected = choose_workers("auto", cores=usable_cores(), processes=4)
    assert result.extra["trainer"].data_workers == expected
    assert os.environ[PROCESSES_VARIABLE] == "2"  # rank 0's share held for the fit only
    err = capfd.readouterr().err.splitlines()
    assert err.count(f"rank 0/2: {expected.describe()}") == 1, err
    assert err.count(f"rank 1/2: {expected.describe()}") == 1, err
