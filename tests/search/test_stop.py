"""Why a study stops: a grid runs each point once, a NaN trial is one line, the objective
follows train.monitor, and best.json keeps the stop reason."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState

from honed.search.objectives import Objective, study_objectives
from honed.search.retry import FAIL_REASON_ATTR
from honed.search.storage import sqlite_url
from honed.search.study import SURPLUS
from tests.helpers import wait_until

GRID = """\
name: grid
data: {source: builtin:iris}
model: {family: mlp, hidden: {choice: [4, 8, 16]}, dropout: {choice: [0.0, 0.1]},
        activation: {choice: [relu, tanh]}}
train: {epochs: 1, batch_size: 32, threads: 1, monitor: val.accuracy}
search: {trials: 20, sampler: grid, pruner: none}
"""

DIVERGING = """\
name: diverge
data: {source: builtin:diabetes, scale: standard}
model: {family: mlp, hidden: 8}
train: {epochs: 2, batch_size: 32, threads: 1, optimizer: {name: sgd, lr: {choice: [1.0e-3, 1.0e+6]}}}
search: {trials: 2, sampler: grid, pruner: none, objectives: ["val.mse:min"]}
"""


def honed(*args, cwd):
    return subprocess.run([sys.executable, "-m", "honed.cli.main", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          env={**os.environ, "COLUMNS": "80", "OMP_NUM_THREADS": "1"})


def trials_of(run, name):
    study = optuna.load_study(study_name=name, storage=sqlite_url(run / "study"))
    return study, study.trials


@pytest.mark.parametrize("workers", [1, 2])
def test_a_grid_smaller_than_trials_runs_each_point_once_and_says_so(tmp_path, workers):
    (tmp_path / "spec.yaml").write_text(GRID)
    done = honed("tune", "spec.yaml", "--out", "run", "--quiet", "--workers", workers,
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    study, trials = trials_of(tmp_path / "run", "grid")
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 12 and len({tuple(sorted(t.params.items())) for t in complete}) == 12
    # two workers can both start a trial when 11 are in flight: the later one is failed as
    # surplus before it trains (the worker loop's guard), never run as a 13th point
    others = [t for t in trials if t.state != TrialState.COMPLETE]
    assert all(t.state == TrialState.FAIL and t.user_attrs.get(SURPLUS) for t in others)
    assert workers == 2 or not others
    assert re.search(r"stopped: grid exhausted, all 12 points tried in .* \(search.trials: 20\)",
                     done.stderr)
    best = json.loads((tmp_path / "run/study/best.json").read_text())
    assert best["stop_reason"] == "grid-exhausted" and best["wall_seconds"] > 0
    # the objective follows train.monitor, and the header says so
    assert best["objectives"] == [{"name": "val.accuracy", "direction": "maximize"}]
    assert "objective: val.accuracy (max), from train.monitor" in done.stderr
    again = honed("tune", "spec.yaml", "--out", "run", "--quiet", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(trials_of(tmp_path / "run", "grid")[1]) == len(trials)  # exhausted: nothing runs


def test_a_nan_trial_is_one_line_and_records_why(tmp_path):
    (tmp_path / "spec.yaml").write_text(DIVERGING)
    done = honed("tune", "spec.yaml", "--out", "run", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "[W " not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if "failed" in line]
    assert len(lines) == 1 and re.fullmatch(
        r"trial \d failed: training loss became (nan|inf) at epoch 1, step \d+ \(lr 1e\+06\)",
        lines[0]), done.stderr
    _, trials = trials_of(tmp_path / "run", "diverge")
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len(failed) == 1 and "lower train.optimizer.lr" in failed[0].user_attrs[
        FAIL_REASON_ATTR]


@pytest.mark.parametrize(("written", "monitor", "expected"), [
    (None, "val.f1", [Objective("val.f1", "maximize")]),
    (None, "val.loss", [Objective("val.loss", "minimize")]),
    (None, "train.accuracy", [Objective("val.accuracy", "maximize")]),
    (["val.loss:min", "params:min"], "val.f1",
     [Objective("val.loss", "minimize"), Objective("params", "minimize")]),
])
def test_the_default_objective_follows_train_monitor(written, monitor, expected):
    assert study_objectives(written, monitor, "classification") == expected


def _study_with(tmp_path, *, complete: int, running: int) -> optuna.Study:
    from honed.search.storage import open_storage

    study = optuna.create_study(storage=open_storage(sqlite_url(tmp_path), writer=True),
                                study_name="s")
    for value in range(complete):
        study.add_trial(optuna.trial.create_trial(value=float(value)))
    for _ in range(running):
        study._storage.create_new_trial(study._study_id)  # RUNNING, as a worker's trial is
    return study


def test_a_deadline_passing_while_a_trial_runs_says_that_it_is_being_finished(tmp_path):
    import time

    from honed.search.stop import DeadlineNotice

    study = _study_with(tmp_path, complete=1, running=1)
    notes: list[str] = []
    with DeadlineNotice(study, time.time(), notes.append):
        wait_until(lambda: notes, what="the deadline notice")
    assert notes == ["timeout reached: finishing trial 1 (Ctrl-C stops now; it runs again "
                     "later)"]
    quiet: list[str] = []
    (tmp_path / "b").mkdir()
    with DeadlineNotice(_study_with(tmp_path / "b", complete=1, running=0), time.time(),
                        quiet.append):
        pass
    assert quiet == []  # nothing running: nothing to explain


def test_the_stop_reason_and_its_line(tmp_path):
    import time

    from honed.search.stop import describe_stop, stop_reason

    study = _study_with(tmp_path, complete=2, running=0)
    assert stop_reason(study, trials=2, grid_points=None, deadline=None) == "trials"
    assert stop_reason(study, trials=2, grid_points=2, deadline=None) == "grid-exhausted"
    assert stop_reason(study, trials=5, grid_points=None, deadline=time.time() - 1) == "timeout"
    line = describe_stop("timeout", done=2, trials=5, asked=5, wall_seconds=320, timeout=180)
    assert line == "stopped: timeout (3 m), 2 of 5 trials in 5 m 20 s; rerun to go on"
    assert len(line) <= 80


def test_a_study_made_for_another_objective_is_not_continued_for_this_one(tmp_path):
    from honed.errors import UserInputError
    from honed.search.study import create_or_load_study

    url, raw = sqlite_url(tmp_path), {"name": "o"}
    # what honed made of a spec monitoring accuracy before its objective followed the monitor
    create_or_load_study(url, "o", [Objective("val.loss", "minimize")], sampler=None,
                         pruner=None, raw_spec=raw)
    with pytest.raises(UserInputError, match=r"study 'o' optimizes val.loss:min, not "
                       r"val.accuracy:max; set search.objectives=\[val.loss:min\]"):
        create_or_load_study(url, "o", [Objective("val.accuracy", "maximize")], sampler=None,
                             pruner=None, raw_spec=raw)
    again = create_or_load_study(url, "o", [Objective("val.loss", "minimize")], sampler=None,
                                 pruner=None, raw_spec=raw)
    assert again.user_attrs["honed.objectives"] == ["val.loss"]
