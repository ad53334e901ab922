"""The first trial of a new study trains the spec's default point; a continued study draws anew."""

from __future__ import annotations

import optuna
import pytest
import yaml

from honed.search import tune
from honed.search.default_first import DEFAULT_POINT_ATTR, default_params
from honed.spec import load_spec
from honed.spec.space import resolve

SPEC = """\
name: d
data: {source: builtin:iris}
model: {family: mlp, hidden: {int: [8, 32], log: true}, dropout: {float: [0.0, 0.4], default: 0.1}}
train:
  epochs: 2
  batch_size: 16
  optimizer:
    choice:
      - {name: sgd, lr: {float: [1.0e-3, 1.0e-1], log: true}, momentum: {float: [0.5, 0.99]}}
      - {name: adamw, lr: {float: [1.0e-4, 1.0e-2], log: true}}
search: {trials: 3, sampler: random, pruner: none, objectives: ["val.accuracy:max"]}
"""


def _template(folder, *overrides):
    path = folder / "spec.yaml"
    path.write_text(SPEC)
    return load_spec(path, overrides)


def test_default_params_name_the_default_point_of_a_conditional_space(tmp_path):
    template = _template(tmp_path)
    params = default_params(template.dimensions)
    assert params == {"model.hidden": 16, "model.dropout": 0.1, "train.optimizer": "sgd",
                      "train.optimizer[sgd].lr": 1e-2, "train.optimizer[sgd].momentum": 0.745}
    # the same point as honed train's
    assert resolve(template.raw)["train"]["optimizer"] == {"name": "sgd", "lr": 1e-2,
                                                           "momentum": 0.745}


def test_the_first_trial_trains_the_default_point_and_only_the_first(tmp_path):
    template = _template(tmp_path)
    study = tune(template, out_dir=tmp_path / "run", progress=False).study
    first, *others = study.trials
    assert first.params == default_params(template.dimensions)
    assert first.user_attrs[DEFAULT_POINT_ATTR] is True
    written = yaml.safe_load((tmp_path / "run/study/trials/0000/spec.yaml").read_text())
    assert written["model"]["hidden"] == 16 and written["train"]["optimizer"]["momentum"] == 0.745
    assert others and not any(DEFAULT_POINT_ATTR in t.user_attrs for t in others)


def test_start_at_default_false_leaves_the_sampler_alone(tmp_path):
    template = _template(tmp_path, "search.start_at_default=false")
    study = tune(template, out_dir=tmp_path / "run", progress=False).study
    assert not any(DEFAULT_POINT_ATTR in t.user_attrs for t in study.trials)
    assert study.trials[0].params != default_params(template.dimensions)


@pytest.mark.parametrize("sampler", ["random", "auto", "default"])
def test_a_continued_study_neither_requeues_the_default_nor_replays_its_draws(tmp_path, sampler):
    tune(_template(tmp_path, f"search.sampler={sampler}"), out_dir=tmp_path / "run",
         progress=False)
    study = tune(_template(tmp_path, f"search.sampler={sampler}", "search.trials=6"),
                 out_dir=tmp_path / "run", progress=False).study
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 6
    assert sum(DEFAULT_POINT_ATTR in t.user_attrs for t in done) == 1
    # a sampler seeded as in the first session would draw trials 1-2 again as trials 4-5
    assert len({tuple(sorted(t.params.items())) for t in done}) == 6


def test_options_with_the_same_name_are_labelled_by_position(tmp_path):
    template = _template(tmp_path, "train.optimizer={choice: [{name: sgd, lr: {float: [0.01, "
                         "1.0], log: true}}, {name: sgd, momentum: {float: [0.5, 0.9]}}]}")
    params = default_params(template.dimensions)
    assert params["train.optimizer"] == "0" and params["train.optimizer[0].lr"] == 0.1
    assert resolve(template.raw)["train"]["optimizer"] == {"name": "sgd", "lr": 0.1}
