"""Dimensions become Optuna distributions and suggestions; samplers and pruners by name."""

from __future__ import annotations

import optuna
import pytest

from honed.errors import UserInputError
from honed.search.objectives import parse_objectives
from honed.search.pruners import create_pruner, list_pruners
from honed.search.samplers import create_sampler, grid_space, list_samplers
from honed.search.space import choice_labels, distribution, suggest
from honed.spec.schema import PrunerSpec, SamplerSpec
from honed.spec.space import find_dimensions, flatten

RAW = {
    "model": {"hidden": {"int": [8, 64], "log": True}, "channels": {"choice": [[8, 16], [16, 32]]},
              "dropout": {"float": [0.0, 0.5], "step": 0.25}},
    "train": {"optimizer": {"choice": [{"name": "sgd", "momentum": {"float": [0.8, 0.99]}},
                                       {"name": "adamw"}]}},
}


def dims():
    return {d.name: d for d in flatten(find_dimensions(RAW))}


def test_distributions_follow_the_notation():
    d = dims()
    assert distribution(d["model.hidden"]) == optuna.distributions.IntDistribution(8, 64, log=True)
    assert distribution(d["model.dropout"]) == optuna.distributions.FloatDistribution(
        0.0, 0.5, step=0.25)
    assert choice_labels(d["model.channels"]) == ["[8, 16]", "[16, 32]"]
    assert choice_labels(d["train.optimizer"]) == ["sgd", "adamw"]


def test_narrowed_bounds_apply_by_name():
    d = dims()
    narrowed = distribution(d["model.hidden"], {"model.hidden": (16, 32)})
    assert (narrowed.low, narrowed.high, narrowed.log) == (16, 32, True)
    kept = distribution(d["train.optimizer"], {"train.optimizer": ["adamw"]})
    assert kept.choices == ("adamw",)


def test_suggest_maps_labels_back_to_options():
    d = dims()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    trial = study.ask()
    value = suggest(trial, d["model.channels"])
    assert value in ([8, 16], [16, 32])
    assert trial.params["model.channels"] == str(value).replace("'", '"')
    option = suggest(trial, d["train.optimizer"])
    assert option["name"] in ("sgd", "adamw")


def test_grid_enumerates_and_refuses_continuous_dimensions():
    d = dims()
    space = grid_space([d["model.channels"], d["model.dropout"]])
    assert space == {"model.channels": ["[8, 16]", "[16, 32]"], "model.dropout": [0.0, 0.25, 0.5]}
    with pytest.raises(UserInputError, match="grid cannot enumerate model.hidden"):
        grid_space([d["model.hidden"]])


@pytest.mark.parametrize("name", [n for n, _ in list_samplers()])
def test_every_sampler_builds(name):
    dimensions = find_dimensions({"a": {"choice": [1, 2]}, "b": {"int": [1, 3]}})
    sampler = create_sampler(SamplerSpec(name=name), dimensions=dimensions, seed=0)
    assert isinstance(sampler, optuna.samplers.BaseSampler)


def test_optunas_default_sampler_is_its_own_tpe_seeded_by_the_search():
    dimensions = find_dimensions({"a": {"float": [0.0, 1.0]}})
    draws = []
    for _ in range(2):
        sampler = create_sampler(SamplerSpec(name="default"), dimensions=dimensions, seed=7)
        study = optuna.create_study(sampler=sampler)
        study.optimize(lambda t: t.suggest_float("a", 0.0, 1.0), n_trials=12)
        draws.append([t.params["a"] for t in study.trials])
    assert draws[0] == draws[1]  # the same seed searches the same points
    unasked = optuna.create_study().sampler  # what Optuna picks when given none
    assert type(sampler) is type(unasked)
    assert (sampler._multivariate, sampler._group) == (unasked._multivariate, unasked._group)


def test_auto_is_the_default_multivariate_tpe_or_nsga2_for_several_objectives():
    dimensions = find_dimensions({"a": {"choice": [1, 2]}, "b": {"int": [1, 3]}})
    assert SamplerSpec().name == "auto"
    one = create_sampler(SamplerSpec(), dimensions=dimensions, seed=0)
    assert isinstance(one, optuna.samplers.TPESampler) and one._multivariate and one._group
    several = create_sampler(SamplerSpec(), dimensions=dimensions, seed=0, objectives=2)
    assert isinstance(several, optuna.samplers.NSGAIISampler)


@pytest.mark.parametrize("name", [n for n, _ in list_pruners()])
def test_every_pruner_builds_single_objective(name):
    assert isinstance(create_pruner(PrunerSpec(name=name), epochs=10),
                      optuna.pruners.BasePruner)


def test_multi_objective_pruners():
    from honed.search.mo_pruner import MultiObjectiveSuccessiveHalvingPruner

    for name in ("asha", "hyperband"):
        pruner = create_pruner(PrunerSpec(name=name), epochs=10, objectives=2)
        assert isinstance(pruner, MultiObjectiveSuccessiveHalvingPruner)
    with pytest.raises(UserInputError, match="median needs a single objective"):
        create_pruner(PrunerSpec(name="median"), epochs=10, objectives=2)


def test_objectives_check_the_task():
    objectives = parse_objectives(["val.accuracy:max", "latency_ms:min"], "classification")
    assert [(o.name, o.direction, o.metric) for o in objectives] == [
        ("val.accuracy", "maximize", "accuracy"), ("latency_ms", "minimize", None)]
    with pytest.raises(UserInputError, match="'val.r2' is not produced by a classification run"):
        parse_objectives(["val.r2:max"], "classification")
