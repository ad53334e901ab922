"""``honed study show``: best trials, importances, the Pareto front, and clear bad-input lines."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from honed.cli.main import main
from honed.search.show import pick_best_trial

DISTRIBUTIONS = {"model.dropout": FloatDistribution(0.0, 0.5),
                 "model.hidden": IntDistribution(4, 64)}


def make_study(run: Path, values: list[tuple[float, ...]], *, name: str = "demo",
               objectives: tuple[str, ...] = ("val.accuracy",),
               directions: tuple[str, ...] = ("maximize",)) -> optuna.Study:
    """A study in ``run/study/study.db`` holding complete trials with the given values."""
    (run / "study").mkdir(parents=True, exist_ok=True)
    study = optuna.create_study(study_name=name, directions=list(directions),
                                storage=f"sqlite:///{run / 'study' / 'study.db'}",
                                load_if_exists=True)
    study.set_user_attr("honed.objectives", list(objectives))
    for i, value in enumerate(values):
        params = {"model.dropout": 0.05 * (i + 1), "model.hidden": 8 + 7 * i}
        study.add_trial(create_trial(values=list(value), params=params,
                                     distributions=DISTRIBUTIONS))
    return study


def show(*args) -> int:
    return main(["study", "show", *map(str, args)])


def test_best_trials_and_importances(tmp_path, capsys):
    make_study(tmp_path / "run", [(0.8,), (0.95,), (0.9,), (0.7,)])
    assert show(tmp_path / "run", "--top", "3") == 0
    out = capsys.readouterr().out
    assert "study demo: complete 4" in out and "best 3 trials" in out
    assert "parameter importance" in out and "model.hidden" in out
    assert "▶ 1" in out  # the trial honed run refits, first in the table
    assert out.index("0.95") < out.index("0.9 ") and "0.7 " not in out.split("importance")[0]


def test_pareto_front_is_shown_and_the_refit_trial_marked(tmp_path, capsys):
    # trial 3 is dominated; 0 and 2 tie on accuracy, and 2 is smaller
    values = [(0.9, 500.0), (0.8, 100.0), (0.9, 300.0), (0.7, 600.0)]
    make_study(tmp_path / "run", values, objectives=("val.accuracy", "params"),
               directions=("maximize", "minimize"))
    assert show(tmp_path / "run") == 0
    out = capsys.readouterr().out
    front = out.split("Pareto front (2 trials)")[1].split("parameter importance")[0]
    assert "▶ 2" in front and "│     1 │" in front and "│     3 │" not in front


def test_pick_best_trial_breaks_ties_by_the_next_objective_then_the_number(tmp_path):
    values = [(0.9, 500.0), (0.8, 100.0), (0.9, 300.0), (0.9, 300.0)]
    study = make_study(tmp_path / "run", values, objectives=("val.accuracy", "params"),
                       directions=("maximize", "minimize"))
    assert pick_best_trial(study).number == 2
    single = make_study(tmp_path / "one", [(0.5,), (0.2,), (0.2,)], directions=("minimize",))
    assert pick_best_trial(single).number == 1


def test_no_complete_trial_is_a_friendly_line(tmp_path, capsys):
    study = make_study(tmp_path / "run", [])
    study.add_trial(create_trial(state=TrialState.FAIL, params={}, distributions={}))
    assert show(tmp_path / "run") == 0
    out = capsys.readouterr().out
    assert "failed 1" in out and "no complete trial" in out


@pytest.mark.parametrize("make, fragment", [
    (lambda p: p / "missing", "is not a folder"),
    (lambda p: p, "is not a honed run dir with a study"),
])
def test_not_a_run_dir_is_one_line_exit_2(tmp_path, capsys, make, fragment):
    assert show(make(tmp_path)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and fragment in err[0]
    assert not (tmp_path / "study").exists()  # reading never creates a database


def test_storage_and_name(tmp_path, capsys):
    make_study(tmp_path / "run", [(0.8,), (0.9,), (0.85,)], name="a")
    make_study(tmp_path / "run", [(0.5,)], name="b")
    url = f"sqlite:///{tmp_path / 'run' / 'study' / 'study.db'}"
    assert show("--storage", url, "--name", "b") == 0
    assert "study b: complete 1" in capsys.readouterr().out
    assert show(tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert "--name" in err and "a, b" in err
    assert show("--storage", url, "--name", "c") == 2
    assert show(tmp_path / "run", "--top", "0") == 2


def test_show_prints_the_coarse_to_fine_narrowing(tmp_path, capsys):
    study = make_study(tmp_path / "run", [(0.8,), (0.9,), (0.85,)])
    study.set_user_attr("honed.coarse_trials", 3)
    study.set_user_attr("honed.narrowing", {"train.optimizer[sgd].lr": {
        "from": [1e-4, 1e-1], "to": [1e-3, 1e-2]}})
    assert show(tmp_path / "run") == 0
    out = capsys.readouterr().out
    assert "narrowed after 3 coarse trials" in out and "train.optimizer[sgd].lr" in out
