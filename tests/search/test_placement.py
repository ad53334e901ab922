"""GPU placement of local search workers: groups of ``search.gpus_per_trial``, round-robin,
one ``CUDA_VISIBLE_DEVICES`` per worker process (checked in what each worker records)."""

from __future__ import annotations

import importlib
import re

import pytest
import torch

from honed.cli.main import main
from honed.errors import UserInputError
from honed.search import tune
from honed.search.placement import gpu_groups, place_workers, visible_gpus
from honed.spec import load_spec

TUNE = importlib.import_module("honed.search.tune")  # the module; honed.search.tune is tune()

SPEC = """\
name: gpus
data: {{source: builtin:iris}}
model: {{family: mlp, hidden: {{int: [8, 16]}}}}
train: {{epochs: 1, batch_size: 32}}
search: {{trials: {trials}, sampler: random, pruner: none, gpus_per_trial: {per_trial}}}
"""


@pytest.mark.parametrize("workers, gpus, per_trial, placed", [
    (2, ["0", "1"], 1, ["0", "1"]),
    (3, ["0", "1"], 1, ["0", "1", "0"]),  # more workers than GPUs: round-robin
    (2, ["0", "1", "2", "3"], 2, ["0,1", "2,3"]),
    (3, ["0", "1", "2"], 2, ["0,1", "0,1", "0,1"]),  # GPU 2 is left over
    (1, ["GPU-a", "GPU-b"], 2, ["GPU-a,GPU-b"]),  # UUIDs, as Slurm may list them
    (2, [], 1, [None, None]),  # no GPU: nothing changes
    (2, [], 4, [None, None]),  # ... and gpus_per_trial is not checked
])
def test_place_workers(workers, gpus, per_trial, placed):
    assert place_workers(workers, gpus, per_trial) == placed


def test_more_gpus_per_trial_than_gpus_is_one_line():
    with pytest.raises(UserInputError) as caught:
        place_workers(2, ["0", "1"], 3)
    assert str(caught.value) == ("search.gpus_per_trial is 3 but this process sees only 2 "
                                 "GPUs (0,1); set search.gpus_per_trial to at most 2")
    assert gpu_groups(["0", "1", "2", "3", "4"], 2) == [["0", "1"], ["2", "3"]]


def test_visible_gpus_follow_the_parents_cuda_visible_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert visible_gpus() == ["0", "1"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5,7")  # e.g. what Slurm gave this job
    assert visible_gpus() == ["5", "7"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert visible_gpus() == []


def test_tune_refuses_more_gpus_per_trial_than_it_sees(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(TUNE, "visible_gpus", lambda: ["0", "1"])
    (tmp_path / "spec.yaml").write_text(SPEC.format(trials=2, per_trial=4))
    code = main(["tune", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "run"),
                 "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "search.gpus_per_trial is 4" in err[0], err
    assert not (tmp_path / "run").exists()
    assert main(["validate", str(tmp_path / "spec.yaml"), "search.gpus_per_trial=0"]) == 2
    assert "search.gpus_per_trial" in capsys.readouterr().err


def test_each_worker_process_gets_its_own_gpu_group(tmp_path, monkeypatch):
    # four GPUs as the coordinator sees them; the workers (CPU torch) record what they got
    monkeypatch.setattr(TUNE, "visible_gpus", lambda: ["0", "1", "2", "3"])
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    (tmp_path / "spec.yaml").write_text(SPEC.format(trials=2, per_trial=2))
    outcome = tune(load_spec(tmp_path / "spec.yaml"), out_dir=tmp_path / "run", workers=2,
                   progress=False)
    logs = sorted((tmp_path / "run" / "study" / "workers").glob("*.log"))
    said = {}  # pid -> GPUs, from the line each worker writes when it joins
    for index, log in enumerate(logs):
        found = re.search(rf"worker {index} on \S+ \(pid (\d+), GPUs? ([\d,]+)\): joined",
                          log.read_text())
        assert found, log.read_text()
        said[found.group(1)] = found.group(2)
    assert sorted(said.values()) == ["0,1", "2,3"]
    trials = [t for t in outcome.study.trials if "worker" in t.user_attrs]
    assert trials
    for trial in trials:  # what the worker process really had in its environment
        pid = trial.user_attrs["worker"].rsplit(":", 1)[1]
        assert trial.user_attrs["gpus"] == said[pid]
        assert trial.user_attrs["device"] == "cpu"
