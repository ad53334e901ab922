"""``honed tune --workers 2`` on streamed data: each worker process gets its share of the cores
for DataLoader workers (data.workers: auto), records it with each trial and logs it once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna

from honed.cpu import PROCESSES_VARIABLE, usable_cores
from honed.data.loader_workers import choose_workers
from honed.search.storage import sqlite_url

SPEC = """\
name: share
data: {source: arrays, stream: true}
model: {family: cnn, hidden: {choice: [4, 8]}}
train: {epochs: 1, batch_size: 16, probes: false}
search: {trials: 2, sampler: grid, pruner: none, objectives: ["val.accuracy:max"]}
"""


def test_two_search_workers_share_the_cores_for_their_loaders(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "arrays").mkdir()
    np.save(tmp_path / "arrays" / "x.npy", rng.normal(size=(60, 3, 6, 6)).astype(np.float32))
    np.save(tmp_path / "arrays" / "y.npy", rng.integers(0, 2, 60))
    (tmp_path / "spec.yaml").write_text(SPEC)
    env = {k: v for k, v in os.environ.items() if k != PROCESSES_VARIABLE}
    done = subprocess.run([sys.executable, "-m", "honed.cli.main", "tune", "spec.yaml",
                           "--workers", "2", "--out", "run", "--quiet"], cwd=tmp_path,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env={**env, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr
    expected = choose_workers("auto", cores=usable_cores(), processes=2)
    trials = optuna.load_study(study_name="share",
                               storage=sqlite_url(tmp_path / "run" / "study")).trials
    assert len(trials) == 2
    for trial in trials:  # each trial's metrics.json records what its worker chose
        metrics = json.loads((Path(trial.user_attrs["dir"]) / "metrics.json").read_text())
        assert metrics["data_workers"] == expected.workers, metrics
        assert metrics["data_workers_chosen"] == expected.reason
    assert expected.reason.endswith(", 2 processes")
    logs = sorted((tmp_path / "run" / "study" / "workers").iterdir())
    said = [log.read_text().splitlines().count(expected.describe()) for log in logs]
    # once per worker process that trained, however many trials it ran (one may have run both)
    assert len(said) == 2 and max(said) == 1 and sum(said) >= 1, said
