"""`honed tune` end to end on tiny studies, and its one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import optuna
import pytest

from honed.search import tune
from honed.spec import load_spec

SPEC = """\
name: t
data: {source: builtin:iris}
model: {family: mlp, hidden: {int: [8, 32], log: true}, activation: {choice: [relu, tanh]}}
train: {epochs: 4, batch_size: 16, optimizer: {name: adamw, lr: {float: [1.0e-3, 1.0e-1], log: true}}}
search: {trials: 5, sampler: tpe, pruner: median, objectives: ["val.accuracy:max"]}
"""


def write(folder, text=SPEC):
    path = folder / "spec.yaml"
    path.write_text(text)
    return path


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "honed.cli.main", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})


def test_tune_runs_trials_and_writes_results(tmp_path):
    outcome = tune(load_spec(write(tmp_path)), out_dir=tmp_path / "run", progress=False)
    study = outcome.study
    assert len(study.trials) == 5
    folder = tmp_path / "run" / "study"
    best = json.loads((folder / "best.json").read_text())
    assert best["trials"][0]["number"] == study.best_trial.number
    assert "val.accuracy" in (folder / "trials.csv").read_text().splitlines()[0]
    trial = folder / "trials" / f"{study.best_trial.number:04d}"
    for name in ("spec.yaml", "history.jsonl", "metrics.json", "model/weights.safetensors"):
        assert (trial / name).is_file(), name


def test_trial_spec_retrains_exactly_with_honed_train(tmp_path):
    outcome = tune(load_spec(write(tmp_path)), out_dir=tmp_path / "run", progress=False)
    best = outcome.study.best_trial
    trial = tmp_path / "run" / "study" / "trials" / f"{best.number:04d}"
    result = cli("train", trial / "spec.yaml", "--out", tmp_path / "again", "--quiet",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "again" / "history.jsonl").read_text().splitlines()
    replay = [json.loads(line)["val"]["accuracy"] for line in lines]
    assert best.value == max(replay[: best.user_attrs["best_epoch"]])


def test_multi_objective_gives_a_pareto_front(tmp_path):
    spec = SPEC.replace('objectives: ["val.accuracy:max"]',
                        'objectives: ["val.loss:min", "params:min"]').replace(
        "pruner: median", "pruner: asha")
    outcome = tune(load_spec(write(tmp_path, spec)), out_dir=tmp_path / "run", progress=False)
    assert outcome.study.directions == [optuna.study.StudyDirection.MINIMIZE] * 2
    assert outcome.best and all(len(t.values) == 2 for t in outcome.best)
    best = json.loads((tmp_path / "run" / "study" / "best.json").read_text())
    assert set(best["trials"][0]["values"]) == {"val.loss", "params"}


@pytest.mark.parametrize("override, fragment", [
    ("search.sampler=simulated-annealing", "search.sampler.name must be 'auto', 'default'"),
    ("search.pruner=never", "search.pruner.name must be 'auto', 'none', 'median'"),
    ("search.objectives=[val.r2:max]", "'val.r2' is not produced by a classification run"),
    ("search.sampler=grid", "grid cannot enumerate model.hidden"),
    ("model.hidden={int: [32, 8]}", "inverted range"),
    ("train.optimizer.lr={float: [0.0, 1.0], log: true}", "log: true needs bounds > 0"),
    ("search.timeout=soon", "duration"),
])
def test_bad_search_input_is_one_line_exit_2_and_nothing_written(tmp_path, override, fragment):
    write(tmp_path)
    result = cli("tune", "spec.yaml", override, "--quiet", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


def test_tune_without_dimensions_is_refused(tmp_path):
    write(tmp_path, "data: {source: builtin:iris}\nmodel: {family: mlp}\n")
    result = cli("tune", "spec.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "no search dimensions" in result.stderr


def test_pruned_trials_stop_within_an_epoch(tmp_path):
    spec = SPEC.replace("pruner: median", "pruner: {name: asha, min_resource: 1}").replace(
        "trials: 5", "trials: 8").replace("epochs: 4", "epochs: 9")
    outcome = tune(load_spec(write(tmp_path, spec)), out_dir=tmp_path / "run", progress=False)
    pruned = [t for t in outcome.study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned
    for trial in pruned:
        folder = tmp_path / "run" / "study" / "trials" / f"{trial.number:04d}"
        epochs = len((folder / "history.jsonl").read_text().splitlines())
        assert epochs == max(trial.intermediate_values) + 1  # no epoch after the prune decision


def test_run_settings_do_not_change_the_study_fingerprint():
    from honed.search.study import fingerprint

    base = {"model": {"hidden": {"int": [8, 32]}}, "search": {"trials": 5, "sampler": "tpe"}}
    longer = {**base, "search": {"trials": 40, "timeout": 60, "workers": 2, "refit": "train+val",
                                 "sampler": "tpe"}}
    assert fingerprint(base) == fingerprint(longer)
    assert fingerprint(base) != fingerprint({**base, "search": {"trials": 5, "sampler": "random"}})


def test_extending_a_finished_study_adds_only_the_new_trials(tmp_path):
    spec = write(tmp_path)
    tune(load_spec(spec), out_dir=tmp_path / "run", progress=False, trials=3)
    outcome = tune(load_spec(spec, ["search.trials=5"]), out_dir=tmp_path / "run",
                   progress=False)
    assert len(outcome.study.trials) == 5


def test_sampler_seeds_stay_below_2_to_the_32_for_any_worker_and_start(tmp_path):
    from honed.search.tune import prepare_study
    from honed.spec import spec_from_dict

    raw = {"name": "seeds", "seed": 2**32 - 1, "data": {"source": "builtin:iris"},
           "model": {"family": "mlp", "hidden": {"int": [4, 8]}},
           "train": {"epochs": 1, "threads": 1}, "search": {"trials": 2, "workers": 1}}
    setup = prepare_study(spec_from_dict(raw), out_dir=tmp_path / "run")
    seeds = [setup.sampler_seed(worker, start=start) for worker in (0, 3) for start in (0, 50_000)]
    assert all(0 <= seed < 2**32 for seed in seeds) and len(set(seeds)) == 4
    setup.sampler(3, start=50_000)  # Optuna takes it (a seed past 2**32 raised in NumPy)


@pytest.mark.parametrize(("epochs", "most"), [(12, 12), ({"int": [5, 60]}, 60),
                                              ({"int": [5, 60], "default": 20}, 60),
                                              ({"choice": [10, 30, 60]}, 60)])
def test_the_pruners_resource_is_the_most_epochs_a_trial_can_train(tmp_path, epochs, most):
    from honed.search.tune import prepare_study
    from honed.spec import spec_from_dict

    raw = {"name": "fidelity", "data": {"source": "builtin:iris"},
           "model": {"family": "mlp", "hidden": {"int": [4, 8]}},
           "train": {"epochs": epochs, "threads": 1},
           "search": {"trials": 2, "pruner": "hyperband"}}
    hyperband = prepare_study(spec_from_dict(raw), out_dir=tmp_path / "h").pruner()
    assert hyperband._max_resource == most
    raw["search"]["pruner"] = "auto"  # the one cut at a tenth of them (0-based step)
    auto = prepare_study(spec_from_dict(raw), out_dir=tmp_path / "a").pruner()
    assert auto.pruner._min_resource == max(1, round(most / 10))
