"""Coarse-to-fine: the narrowing rule by hand, phase 2's sampler, and real tiny studies."""

from __future__ import annotations

import time

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import create_trial
from rich.console import Console

from honed.search.coarse_to_fine import (
    COARSE_ATTR,
    NARROWING_ATTR,
    PHASE_ATTR,
    coarse_count,
    coarse_until,
    fine_sampler,
    narrow,
    narrowing_table,
    run_coarse_to_fine,
    top_trials,
)
from honed.search.space import distribution
from honed.search.study import create_or_load_study
from honed.search.tune import prepare_study
from honed.spec import spec_from_dict
from honed.spec.space import find_dimensions, flatten

RAW = {
    "lr": {"float": [1.0e-4, 1.0e-1], "log": True},
    "dropout": {"float": [0.0, 0.5]},
    "hidden": {"int": [8, 64], "step": 8},
    "depth": {"int": [1, 8], "log": True},
    "act": {"choice": ["relu", "tanh", "gelu"]},
    "wd": {"float": [0.0, 1.0], "step": 0.1},
    "opt": {"choice": [{"name": "sgd", "momentum": {"float": [0.5, 0.99]}}, {"name": "adamw"}]},
}
DIMS = find_dimensions(RAW)
BY_NAME = {d.name: d for d in flatten(DIMS)}


def hand_study(rows: list[tuple], directions=("maximize",)) -> optuna.Study:
    """A study of complete trials, each row (values, params)."""
    study = optuna.create_study(directions=list(directions))
    for values, params in rows:
        dists = {name: distribution(BY_NAME[name]) for name in params}
        study.add_trial(create_trial(params=params, distributions=dists,
                                     values=list(values) if isinstance(values, tuple) else [values]))
    return study


def point(lr, dropout, hidden, depth, act, wd, opt="adamw", momentum=None):
    params = {"lr": lr, "dropout": dropout, "hidden": hidden, "depth": depth, "act": act,
              "wd": wd, "opt": opt}
    if momentum is not None:
        params["opt[sgd].momentum"] = momentum
    return params


def test_narrowing_by_hand_on_every_kind_of_dimension():
    top = [(0.9, point(1e-3, 0.1, 16, 2, "relu", 0.3, "sgd", 0.9)),
           (0.8, point(1e-2, 0.2, 24, 2, "gelu", 0.5, "sgd", 0.8)),
           (0.85, point(3e-3, 0.15, 32, 4, "relu", 0.4, "adamw"))]
    rest = [(0.1 * i, point(1e-4, 0.5, 64, 8, "tanh", 1.0, "sgd", 0.5)) for i in range(5)]
    bounds = narrow(hand_study(top + rest), DIMS)  # 8 trials: the top max(3, ceil(2)) = 3
    # log float: log10 span [-3, -2] widened by 0.1 x 3 decades on each side
    assert bounds["lr"] == pytest.approx((10**-3.3, 10**-1.7))
    # linear float: [0.1, 0.2] widened by 0.1 x 0.5
    assert bounds["dropout"] == pytest.approx((0.05, 0.25))
    # int with step 8: [16, 32] +- 5.6 = [10.4, 37.6], widened to the grid 8, 16, ..., 64
    assert bounds["hidden"] == (8, 40)
    # log int: 2 / 8**0.1 = 1.62 -> 1 and 4 * 8**0.1 = 4.92 -> 5
    assert bounds["depth"] == (1, 5)
    assert all(isinstance(v, int) for v in bounds["hidden"] + bounds["depth"])
    # stepped float: [0.3, 0.5] +- 0.1, on the 0.1 grid
    assert bounds["wd"] == (0.2, 0.6)
    # a choice keeps the options the top trials took, in their order
    assert bounds["act"] == ["relu", "gelu"]
    assert bounds["opt"] == ["sgd", "adamw"]
    # a conditional dimension narrows over the top trials that hold it: [0.8, 0.9] +- 0.049
    assert bounds["opt[sgd].momentum"] == pytest.approx((0.751, 0.949))


def test_narrowing_clips_to_the_original_bounds_and_drops_unpicked_options():
    rows = [(1.0, point(1e-4, 0.0, 8, 1, "tanh", 1.0)), (0.9, point(1e-1, 0.5, 64, 8, "tanh", 0.0)),
            (0.8, point(2e-4, 0.0, 8, 1, "tanh", 1.0)), (0.1, point(1e-2, 0.2, 16, 2, "relu", 0.5,
                                                                   "sgd", 0.7))]
    bounds = narrow(hand_study(rows), DIMS)
    assert bounds["lr"] == (1e-4, 1e-1)  # the bounds themselves, not 10 ** log10(bound)
    assert bounds["dropout"] == (0.0, 0.5) and bounds["hidden"] == (8, 64)
    assert bounds["act"] == ["tanh"] and bounds["opt"] == ["adamw"]
    # no top trial picked sgd: its momentum is left whole
    assert "opt[sgd].momentum" not in bounds
    # with expand=0 the span is exactly the top values'
    tight = narrow(hand_study(rows), DIMS, top_fraction=0.5, expand=0.0)
    assert tight["lr"] == (1e-4, 1e-1) and tight["depth"] == (1, 8)


def test_multi_objective_narrows_around_the_first_fronts():
    rows = [((0.9, 100.0), {"dropout": 0.1}), ((0.8, 50.0), {"dropout": 0.2}),  # front 0
            ((0.85, 120.0), {"dropout": 0.3}),  # front 1 (A dominates it)
            ((0.7, 300.0), {"dropout": 0.5}), ((0.6, 400.0), {"dropout": 0.45})]
    study = hand_study(rows, directions=("maximize", "minimize"))
    assert [t.number for t in top_trials(study, 0.25)] == [0, 1, 2]  # fronts 0 and 1 whole
    assert narrow(study, DIMS, expand=0.0)["dropout"] == pytest.approx((0.1, 0.3))


def test_narrow_without_complete_trials_keeps_the_whole_space_and_checks_arguments():
    assert narrow(optuna.create_study(), DIMS) == {}
    with pytest.raises(ValueError, match="top_fraction"):
        narrow(optuna.create_study(), DIMS, top_fraction=0.0)


def test_coarse_count_has_a_floor_and_a_ceiling():
    assert coarse_count(40, 0.4, DIMS) == 16
    assert coarse_count(12, 0.4, DIMS) == 9  # 8 dimensions: at least 9 points
    assert coarse_count(6, 0.4, DIMS) == 6
    assert coarse_count(50, 0.28, DIMS) == 14  # not 15 from 0.28 * 50 = 14.000000000000002


def test_fine_sampler_samples_inside_and_learns_from_phase_one_inside():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-1, log=True)
                   + (t.suggest_categorical("act", ["relu", "tanh", "gelu"]) == "tanh"), 30)
    bounds = {"lr": (1e-3, 1e-2), "act": ["relu", "gelu"]}
    sampler = fine_sampler(optuna.samplers.TPESampler(seed=1, multivariate=True, group=True,
                                                      n_startup_trials=2), DIMS, bounds)
    study.sampler = sampler
    # phase 2 suggests every option of a choice: Optuna refuses a categorical that changes
    study.optimize(lambda t: t.suggest_float("lr", 1e-3, 1e-2, log=True)
                   + (t.suggest_categorical("act", ["relu", "tanh", "gelu"]) == "tanh"), 8)
    fine = study.trials[30:]
    assert all(1e-3 <= t.params["lr"] <= 1e-2 and t.params["act"] != "tanh" for t in fine)
    inside = [t for t in study.trials[:30]
              if 1e-3 <= t.params["lr"] <= 1e-2 and t.params["act"] != "tanh"]
    seen = [sampler.view(t) for t in study.trials]
    assert sum(s is not None for s in seen) == len(inside) + 8
    kept = next(s for s in seen if s is not None)
    assert kept.distributions["act"] == CategoricalDistribution(["relu", "gelu"])
    assert kept.distributions["lr"] == FloatDistribution(1e-3, 1e-2, log=True)
    # multivariate TPE still models both parameters jointly
    space = sampler.infer_relative_search_space(study, study.trials[-1])
    assert set(space) == {"lr", "act"}


SPEC = {
    "name": "c2f",
    "data": {"source": "builtin:iris"},
    "model": {"family": "mlp", "hidden": {"int": [8, 32], "log": True},
              "activation": {"choice": ["relu", "tanh", "gelu"]}},
    "train": {"epochs": 3, "batch_size": 32, "optimizer": {"choice": [
        {"name": "sgd", "lr": {"float": [1.0e-3, 3.0e-1], "log": True},
         "momentum": {"float": [0.5, 0.95]}},
        {"name": "adamw", "lr": {"float": [1.0e-3, 1.0e-1], "log": True}}]}},
    "search": {"trials": 9, "strategy": "coarse-to-fine", "pruner": "none",
               "objectives": ["val.accuracy:max"]},
}


def start(tmp_path, trials, **search):
    template = spec_from_dict({**SPEC, "search": {**SPEC["search"], **search}})
    setup = prepare_study(template, out_dir=tmp_path / "run", trials=trials)
    setup.study_dir.mkdir(parents=True, exist_ok=True)
    study = create_or_load_study(setup.url, setup.name, setup.objectives, sampler=None,
                                 pruner=setup.pruner(), raw_spec=template.raw)
    return setup, study


def inside(params: dict, bounds: dict) -> bool:
    for name, value in params.items():
        if name not in bounds:
            continue
        to = bounds[name]["to"]
        if isinstance(value, str) or len(to) != 2 or isinstance(to[0], str):
            if value not in to:
                return False
        elif not to[0] - 1e-12 <= value <= to[1] + 1e-12:
            return False
    return True


def test_coarse_to_fine_runs_both_phases_in_one_study(tmp_path):
    setup, study = start(tmp_path, trials=9)
    run_coarse_to_fine(setup, study, deadline=None)
    trials = study.get_trials()
    assert len(trials) == 9  # 6 dimensions: 7 coarse trials, then 2 fine ones
    assert [t.user_attrs[PHASE_ATTR] for t in trials] == ["coarse"] * 7 + ["fine"] * 2
    record = study.user_attrs[NARROWING_ATTR]
    assert study.user_attrs[COARSE_ATTR] == 7
    assert set(record) >= {"model.hidden", "train.optimizer", "model.activation"}
    assert all(inside(t.params, record) for t in trials[7:])
    table = narrowing_table(study)
    assert table is not None and table.row_count == len(record)
    assert narrowing_table(optuna.create_study()) is None


def test_resume_after_phase_one_reuses_the_recorded_narrowing(tmp_path):
    setup, study = start(tmp_path, trials=7)  # phase 1 only: 7 coarse trials
    run_coarse_to_fine(setup, study, deadline=None)
    assert study.user_attrs[COARSE_ATTR] == 7 and len(study.trials) == 7
    # tighten the record by hand: the resumed phase 2 must search these bounds, not new ones
    record = study.user_attrs[NARROWING_ATTR]
    record["model.hidden"]["to"] = [12, 14]
    record["model.activation"]["to"] = ["tanh"]
    study.set_user_attr(NARROWING_ATTR, record)
    setup, study = start(tmp_path, trials=9)
    run_coarse_to_fine(setup, study, deadline=None)
    trials = study.get_trials()
    assert [t.user_attrs[PHASE_ATTR] for t in trials].count("coarse") == 7
    assert study.user_attrs[NARROWING_ATTR] == record
    assert all(12 <= t.params["model.hidden"] <= 14 and t.params["model.activation"] == "tanh"
               for t in trials[7:])


def test_phase_one_stops_at_the_deadline_without_narrowing(tmp_path):
    setup, study = start(tmp_path, trials=9)
    run_coarse_to_fine(setup, study, deadline=time.time() - 1)
    assert NARROWING_ATTR not in study.user_attrs
    assert not study.trials  # the next run starts phase 1 afresh


def test_phase_one_has_a_share_of_the_time_too():
    assert coarse_until(1600.0, 600.0, 0.4) == pytest.approx(1240.0)  # 4 of 10 minutes
    assert coarse_until(None, 600.0, 0.4) is None and coarse_until(1600.0, None, 0.4) is None


def test_phase_one_ends_at_its_share_of_the_time_once_its_floor_has_ended(tmp_path):
    # 0.9 of 9 trials would make all 9 coarse; but phase 1's share of the time is over before
    # it starts, so it stops at its floor, 6 dimensions + 1 = 7 trials, and phase 2 runs 2
    setup, study = start(tmp_path, trials=9, coarse_fraction=0.9)
    run_coarse_to_fine(setup, study, deadline=None, phase_one_until=time.time() - 1)
    trials = study.get_trials()
    assert [t.user_attrs[PHASE_ATTR] for t in trials] == ["coarse"] * 7 + ["fine"] * 2
    assert study.user_attrs[COARSE_ATTR] == 7
    assert all(inside(t.params, study.user_attrs[NARROWING_ATTR]) for t in trials[7:])


def test_the_workers_of_one_tune_share_the_end_of_phase_one(tmp_path):
    from honed.search.tune import worker_command

    setup, _ = start(tmp_path, trials=9, timeout="10m")
    command, _ = worker_command(setup, setup.template, threads=1, deadline=1600.0)
    assert command[command.index("--deadline") + 1] == "1600.0"
    assert command[command.index("--coarse-until") + 1] == "1240.0"  # 0.4 of 10 minutes
    setup, _ = start(tmp_path / "default", trials=9, timeout="10m", strategy="default")
    command, _ = worker_command(setup, setup.template, threads=1, deadline=1600.0)
    assert "--coarse-until" not in command


def test_the_table_shows_conditional_names_whole():
    study = optuna.create_study()
    study.set_user_attr(COARSE_ATTR, 7)
    study.set_user_attr(NARROWING_ATTR, {
        "train.optimizer[sgd].lr": {"from": [0.001, 0.1], "to": [0.002, 0.05]},
        "model.channels": {"from": ["[8, 16]", "[16, 32]"], "to": ["[8, 16]", "[16, 32]"]}})
    console = Console(record=True, width=120)
    console.print(narrowing_table(study))
    text = console.export_text()
    assert "train.optimizer[sgd].lr" in text and "0.002, 0.05" in text
    assert "(unchanged)" in text and "after 7 coarse trials" in text
