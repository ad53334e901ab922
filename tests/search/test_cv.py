"""The k-fold objective: one report per fold (running mean), the mean as value, pruning between."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.trial import TrialState

from honed.search.cv import FOLDS_ATTR, fold_means
from honed.search.objective import TrialObjective
from honed.search.objectives import parse_objectives
from honed.spec import spec_from_dict

SPEC = {
    "name": "cv",
    "data": {"source": "builtin:iris"},
    "model": {"family": "mlp", "hidden": {"int": [8, 16]}},
    "train": {"epochs": 2, "batch_size": 32, "optimizer": {"name": "adamw", "lr": 0.02}},
}


def objective(tmp_path, objectives=("val.accuracy:max",), k=3):
    return TrialObjective(spec_from_dict(SPEC), parse_objectives(list(objectives),
                                                                 "classification"),
                          tmp_path / "study", cv=k)


def test_value_is_the_mean_over_folds_reported_fold_by_fold(tmp_path):
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    study.optimize(objective(tmp_path), n_trials=1)
    trial = study.trials[0]
    assert trial.state == TrialState.COMPLETE
    folds = [values[0] for values in trial.user_attrs[FOLDS_ATTR]]
    assert len(folds) == 3
    # step i holds the mean of folds 0..i; no epoch was reported
    assert trial.intermediate_values == pytest.approx(
        {0: folds[0], 1: (folds[0] + folds[1]) / 2, 2: sum(folds) / 3})
    assert trial.value == pytest.approx(sum(folds) / 3)
    folder = tmp_path / "study" / "trials" / "0000"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["cv"] == 3 and len(metrics["folds"]) == 3
    assert [f["val"]["accuracy"] for f in metrics["folds"]] == pytest.approx(folds)
    assert metrics["val"]["accuracy"] == pytest.approx(trial.value)
    assert metrics["best_epoch"] == metrics["folds"][-1]["best_epoch"]  # the saved, last fold's
    assert (folder / "model" / "weights.safetensors").is_file()
    for index in range(3):
        lines = (folder / f"fold{index}" / "history.jsonl").read_text().splitlines()
        assert len(lines) == 2


def test_a_weak_trial_stops_after_its_first_fold(tmp_path):
    # accuracy is never above 2: the pruner stops every trial at the first step it sees
    pruner = optuna.pruners.ThresholdPruner(lower=2.0, n_warmup_steps=0)
    study = optuna.create_study(direction="maximize", pruner=pruner)
    study.optimize(objective(tmp_path), n_trials=1)
    trial = study.trials[0]
    assert trial.state == TrialState.PRUNED
    assert list(trial.intermediate_values) == [0]
    folder = tmp_path / "study" / "trials" / "0000"
    assert (folder / "fold0" / "history.jsonl").is_file()
    assert not (folder / "fold1").exists() and not (folder / "metrics.json").exists()


def test_multi_objective_reports_vectors_and_measures_the_last_fold(tmp_path):
    study = optuna.create_study(directions=["maximize", "minimize"],
                                pruner=optuna.pruners.NopPruner())
    study.optimize(objective(tmp_path, ("val.accuracy:max", "params:min"), k=2), n_trials=1)
    trial = study.trials[0]
    folds = trial.user_attrs[FOLDS_ATTR]
    assert trial.values[0] == pytest.approx((folds[0][0] + folds[1][0]) / 2)
    assert trial.values[1] == folds[1][1]
    assert trial.user_attrs["honed.step.0"] == pytest.approx(folds[0])
    assert trial.user_attrs["honed.step.1"] == pytest.approx(trial.values)


def test_fold_means_skip_what_is_not_a_number():
    records = [{"accuracy": 0.5, "confusion_matrix": [[1]]}, {"accuracy": 1.0,
                                                             "confusion_matrix": [[2]]}]
    assert fold_means(records) == {"accuracy": 0.75}
    assert fold_means([]) == {}
