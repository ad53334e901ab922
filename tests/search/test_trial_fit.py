"""A trial of K GPUs trains as K DDP processes, the worker being rank 0 (gloo on CPU here).

The decision itself is a pure function of the device counts; the trial test makes it say
"2 processes" on this CPU machine so that the worker's real callbacks run in a real group.
"""

from __future__ import annotations

import json
import multiprocessing

import numpy as np
import optuna
from optuna.trial import TrialState

from honed.data import prepare_folds
from honed.search import trial_fit
from honed.search.objective import TrialObjective
from honed.search.objectives import parse_objectives
from honed.search.trial_fit import ranks_for
from honed.spec import spec_from_dict
from honed.train.group_fit import SpecData

SPEC = {
    "name": "gpus",
    "data": {"source": "builtin:iris"},
    "model": {"family": "mlp", "hidden": {"int": [8, 16]}},
    "train": {"epochs": 3, "batch_size": 32, "threads": 1, "device": "cpu",
              "optimizer": {"name": "adamw", "lr": 0.02}},
}


def test_a_trial_uses_its_gpus_only_on_cuda_with_enough_devices():
    assert ranks_for(2, cuda_devices=2, device_type="cuda") == 2
    assert ranks_for(4, cuda_devices=8, device_type="cuda") == 4
    assert ranks_for(2, cuda_devices=1, device_type="cuda") == 1  # the first GPU, said once
    assert ranks_for(2, cuda_devices=2, device_type="cpu") == 1  # train.device: cpu
    assert ranks_for(1, cuda_devices=2, device_type="cuda") == 1
    assert trial_fit.trial_ranks(2, "cpu") == 1


def test_a_pruned_two_process_trial_stops_both_ranks(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("HONED_DDP_TIMEOUT", "60")
    monkeypatch.setattr(trial_fit, "trial_ranks", lambda gpus, device: gpus)
    objective = TrialObjective(spec_from_dict(SPEC),
                               parse_objectives(["val.accuracy:max"], "classification"),
                               tmp_path / "study", gpus=2)
    # accuracy is never above 2: the pruner stops the trial at its first epoch, on rank 0
    pruner = optuna.pruners.ThresholdPruner(lower=2.0, n_warmup_steps=0)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state == TrialState.PRUNED and list(trial.intermediate_values) == [0]
    history = (tmp_path / "study" / "trials" / "0000" / "history.jsonl").read_text()
    assert [json.loads(line)["epoch"] for line in history.splitlines()] == [1]
    assert not multiprocessing.active_children()


def test_the_other_ranks_rebuild_the_fold_the_worker_trains_on():
    spec = spec_from_dict(SPEC).default
    source = SpecData.of(spec, folds=3, fold=1)
    assert source.memory is None
    rebuilt, expected = source(), prepare_folds(spec.data, seed=spec.seed, k=3)[1]
    np.testing.assert_array_equal(rebuilt.train.x, expected.train.x)
    np.testing.assert_array_equal(rebuilt.val.y, expected.val.y)


def test_memory_data_travels_with_the_spec():
    data = (np.arange(40.0).reshape(20, 2), np.arange(20) % 2)  # a child process has no copy
    spec = spec_from_dict({**SPEC, "data": {"source": data}}).default
    source = SpecData.of(spec)
    assert source.memory is not None and source().train.x.shape[1] == 2
