"""A trial at a point that a complete trial already trained reuses its values, untrained."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from honed.cli.main import main
from honed.search import tune
from honed.search.repeats import REPEAT_OF_ATTR
from honed.search.results import best_trials
from honed.search.show import pick_best_trial
from honed.spec import spec_from_dict


def two_points(trials: int, objectives: list[str], workers: int = 1) -> dict:
    """A space of two points (hidden 4 or 8): ``trials`` > 2 must draw a point again."""
    return {"name": "repeats", "data": {"source": "builtin:iris"},
            "model": {"family": "mlp", "hidden": {"choice": [4, 8]}},
            "train": {"epochs": 1, "batch_size": 32, "threads": 1},
            "search": {"trials": trials, "pruner": "none", "objectives": objectives,
                       "workers": workers}}


def trained(run: Path) -> set[int]:
    """Trial numbers with a folder holding weights: the trials that trained."""
    return {int(folder.name) for folder in (run / "study" / "trials").iterdir()
            if (folder / "model" / "weights.safetensors").is_file()}


@pytest.mark.parametrize("objectives", [["val.accuracy:max", "params:min"],  # NSGA-II
                                        ["val.accuracy:max"]])  # multivariate TPE
def test_a_repeated_point_is_not_trained_again_and_carries_the_earlier_values(
        tmp_path, objectives, capsys):
    run = tmp_path / "run"
    notes: list[str] = []
    outcome = tune(spec_from_dict(two_points(5, objectives)), out_dir=run, progress=False,
                   note=notes.append)
    trials = outcome.study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 5  # repeats count as trials
    originals = [t for t in trials if REPEAT_OF_ATTR not in t.user_attrs]
    repeats = [t for t in trials if REPEAT_OF_ATTR in t.user_attrs]
    # each point trained once, by the first trial that drew it; nothing else wrote weights
    assert len(originals) == 2 and {t.params["model.hidden"] for t in originals} == {4, 8}
    assert trained(run) == {t.number for t in originals}
    assert len(repeats) == 3
    for repeat in repeats:
        earlier = trials[repeat.user_attrs[REPEAT_OF_ATTR]]
        assert earlier.number < repeat.number and earlier.params == repeat.params
        assert repeat.values == earlier.values
        assert repeat.user_attrs["dir"] == earlier.user_attrs["dir"]
        assert not (run / "study" / "trials" / f"{repeat.number:04d}").exists()
    assert any("3 trials drew a point already trained" in n for n in notes), notes
    # trials.csv marks them; best.json and the trial honed run refits name a trained trial
    with open(run / "study" / "trials.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    marked = {int(r["number"]): r[f"user_attrs_{REPEAT_OF_ATTR}"] for r in rows}
    assert {n for n, of in marked.items() if of} == {t.number for t in repeats}
    best = json.loads((run / "study" / "best.json").read_text())
    best_numbers = [t["number"] for t in best["trials"]]
    assert set(best_numbers) <= {t.number for t in originals}
    assert pick_best_trial(outcome.study).number in {t.number for t in originals}
    if len(objectives) == 2:  # 4 hidden units: fewer params; each point on the front once
        assert len(best_numbers) == len({tuple(t["params"].items()) for t in best["trials"]})
    assert main(["study", "show", str(run)]) == 0
    shown = capsys.readouterr().out
    assert "complete 5 (3 repeats)" in shown
    if len(objectives) == 2:
        assert f"Pareto front ({len(best_numbers)} trials)" in shown


def test_two_workers_train_each_point_at_most_as_often_as_they_raced(tmp_path):
    run = tmp_path / "run"
    outcome = tune(spec_from_dict(two_points(6, ["val.accuracy:max", "params:min"], workers=2)),
                   out_dir=run, progress=False)
    trials = outcome.study.trials
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 6
    # a point trains again only when two workers drew it before either finished it
    assert len(trained(run)) <= 4
    assert trained(run) == {t.number for t in complete if REPEAT_OF_ATTR not in t.user_attrs}
    front = best_trials(outcome.study)
    assert len(front) == len({t.params["model.hidden"] for t in front})


def test_the_front_lists_a_point_trained_twice_once_by_its_earlier_trial(tmp_path):
    # two workers that raced for one point both trained it; the later one measured a little
    # better (a latency, say) and would dominate the earlier one on Optuna's own front
    study = optuna.create_study(directions=["maximize", "minimize"],
                                storage=f"sqlite:///{tmp_path / 'study.db'}")
    space = {"model.hidden": CategoricalDistribution([4, 8])}
    for hidden, values in ((4, [0.9, 2.0]), (4, [0.9, 1.9]), (8, [0.95, 3.0])):
        study.add_trial(create_trial(values=values, params={"model.hidden": hidden},
                                     distributions=space))
    assert [t.number for t in study.best_trials] == [1, 2]
    assert [t.number for t in best_trials(study)] == [0, 2]
