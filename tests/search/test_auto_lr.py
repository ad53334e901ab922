"""``lr: auto`` in a search: a range from the LR range test, run once and cached."""

from __future__ import annotations

import copy
import json

import pytest

from honed.errors import UserInputError
from honed.search import auto_lr, tune
from honed.search.auto_lr import CACHE_KEY, expand_auto_lr
from honed.spec import spec_from_dict
from honed.spec.space import flatten

SPEC = {
    "name": "auto",
    "data": {"source": "builtin:iris"},
    "model": {"family": "mlp", "hidden": {"int": [8, 16]}},
    "train": {"epochs": 2, "batch_size": 32, "optimizer": {"name": "adamw", "lr": "auto"}},
    "search": {"trials": 2, "pruner": "none", "objectives": ["val.accuracy:max"]},
}


def dims(template):
    return {d.name: d for d in flatten(template.dimensions)}


def test_auto_lr_becomes_a_log_range_from_the_range_test_and_is_searched(tmp_path):
    expanded = expand_auto_lr(spec_from_dict(SPEC), run_dir=tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "lr_find.json").read_text())
    low, high = saved[CACHE_KEY]["results"]["train.optimizer.lr"]["search_range"]
    lr = dims(expanded)["train.optimizer.lr"]
    assert lr.log and lr.kind == "float"
    assert (lr.low, lr.high) == (float(f"{low:.3g}"), float(f"{high:.3g}"))
    assert lr.low <= expanded.default.train.optimizer.lr <= lr.high  # the suggestion, kept valid
    assert "lrs" in saved and "suggested_lr" in saved  # still readable as `honed lr-find` output
    outcome = tune(expanded, out_dir=tmp_path / "run", progress=False)
    assert all(lr.low <= t.params["train.optimizer.lr"] <= lr.high for t in outcome.study.trials)


def test_the_cached_range_is_reused_without_running_the_test_again(tmp_path, monkeypatch):
    first = expand_auto_lr(spec_from_dict(SPEC), run_dir=tmp_path)

    def refuse(*args, **kwargs):
        raise AssertionError("the range test ran again")

    monkeypatch.setattr(auto_lr, "lr_find", refuse)
    again = expand_auto_lr(spec_from_dict(SPEC), run_dir=tmp_path)
    assert again.raw == first.raw
    # another model is another range: the cache is not trusted for it
    other = copy.deepcopy(SPEC)
    other["model"]["hidden"] = 32
    with pytest.raises(AssertionError, match="ran again"):
        expand_auto_lr(spec_from_dict(other), run_dir=tmp_path)


def test_every_optimizer_option_gets_its_own_range(tmp_path):
    spec = copy.deepcopy(SPEC)
    spec["train"]["optimizer"] = {"choice": [
        {"name": "sgd", "lr": "auto", "momentum": {"float": [0.5, 0.9]}},
        {"name": "adamw", "lr": "auto"}, {"name": "rmsprop", "lr": 0.01}]}
    expanded = expand_auto_lr(spec_from_dict(spec), run_dir=tmp_path)
    found = dims(expanded)
    assert {"train.optimizer[sgd].lr", "train.optimizer[adamw].lr"} <= set(found)
    assert "train.optimizer[rmsprop].lr" not in found
    results = json.loads((tmp_path / "lr_find.json").read_text())[CACHE_KEY]["results"]
    assert set(results) == {"train.optimizer[sgd].lr", "train.optimizer[adamw].lr"}
    assert found["train.optimizer[sgd].lr"].low == float(
        f"{results['train.optimizer[sgd].lr']['search_range'][0]:.3g}")


def test_a_spec_without_auto_is_left_alone(tmp_path):
    spec = copy.deepcopy(SPEC)
    spec["train"]["optimizer"]["lr"] = 0.01
    template = spec_from_dict(spec)
    assert expand_auto_lr(template, run_dir=tmp_path / "run") is template
    assert not (tmp_path / "run").exists()


def test_a_range_test_that_finds_nothing_is_a_one_line_error(tmp_path, monkeypatch):
    def diverge(*args, **kwargs):
        raise ValueError("the loss diverged in the first steps; lower start_lr")

    monkeypatch.setattr(auto_lr, "lr_find", diverge)
    with pytest.raises(UserInputError, match="train.optimizer.lr: auto"):
        expand_auto_lr(spec_from_dict(SPEC), run_dir=tmp_path)
    assert not (tmp_path / "lr_find.json").exists()
