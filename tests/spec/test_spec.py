"""Spec loading, overrides, the search-space notation and error reporting."""

from __future__ import annotations

import copy

import pytest

from honed.errors import SpecError
from honed.spec import dump_spec, load_spec, resolve, spec_from_dict
from honed.spec.space import find_dimensions

BASE = {
    "name": "t",
    "data": {"source": "builtin:iris"},
    "model": {"family": "mlp", "hidden": {"int": [16, 256], "log": True},
              "dropout": {"float": [0.0, 0.5]}, "activation": {"choice": ["relu", "gelu"]}},
    "train": {
        "epochs": 3,
        "optimizer": {"choice": [
            {"name": "sgd", "lr": {"float": [1.0e-3, 1.0], "log": True},
             "momentum": {"float": [0.8, 0.99]}},
            {"name": "adamw", "lr": 1.0e-3},
        ]},
    },
}


def errors_of(raw, overrides=()):
    with pytest.raises(SpecError) as info:
        spec_from_dict(raw, overrides=overrides)
    return info.value.errors


def test_default_point_is_documented_midpoint():
    spec = spec_from_dict(BASE).default
    assert spec.model.hidden == 64  # geometric mean of 16 and 256
    assert spec.model.dropout == 0.25
    assert spec.model.activation == "relu"  # first choice
    assert spec.train.optimizer.name == "sgd"
    assert spec.train.optimizer.lr == pytest.approx(10 ** -1.5)
    assert spec.train.optimizer.momentum == pytest.approx(0.895)


def test_explicit_default_wins():
    raw = copy.deepcopy(BASE)
    raw["model"]["dropout"] = {"float": [0.0, 0.5], "default": 0.1}
    assert spec_from_dict(raw).default.model.dropout == 0.1


def test_dimensions_and_conditional_names():
    dims = find_dimensions(BASE)
    assert [d.name for d in dims] == ["model.hidden", "model.dropout", "model.activation",
                                      "train.optimizer"]
    nested = dims[-1].nested
    assert list(nested) == ["sgd"]
    assert [d.name for d in nested["sgd"]] == ["train.optimizer[sgd].lr",
                                               "train.optimizer[sgd].momentum"]


def test_resolve_with_a_picker_only_asks_for_the_picked_branch():
    asked = []

    def pick(dim):
        asked.append(dim.name)
        if dim.name == "train.optimizer":
            return dim.choices[1]
        return dim.default_value()

    resolved = resolve(BASE, pick)
    assert resolved["train"]["optimizer"] == {"name": "adamw", "lr": 1.0e-3}
    assert "train.optimizer[sgd].lr" not in asked


def test_every_error_reported_at_once_with_path_rule_and_value():
    raw = copy.deepcopy(BASE)
    raw["model"]["dropout"] = {"float": [0.0, 1.5]}
    raw["model"]["foo"] = 1
    raw["train"]["epochs"] = -3
    raw["train"]["optimizer"]["choice"][0]["lr"] = {"float": [-1.0, 1.0]}
    raw["data"]["split"] = {"val": 2}
    errors = errors_of(raw)
    assert "model.dropout (search high bound) must be less than 1; got 1.5" in errors
    assert any(e.startswith("model.foo is not a known key; valid keys: family, depth") for e in errors)
    assert "train.epochs must be greater than or equal to 1; got -3" in errors
    assert "train.optimizer.lr (search low bound) must be a finite number greater than 0, or auto; got -1.0" in errors
    assert "data.split.val must be less than 1; got 2" in errors


@pytest.mark.parametrize("split", ["val", "test"])
def test_an_empty_val_or_test_split_is_refused_before_anything_runs(split):
    # an empty split used to fail after training, in the metrics, with a traceback
    raw = copy.deepcopy(BASE)
    raw["data"]["split"] = {split: 0}
    assert any(e.startswith(f"data.split.{split} must be greater than 0; got 0")
               for e in errors_of(raw))


@pytest.mark.parametrize("dim, message", [
    ({"float": [1.0, 0.1]}, "inverted range"),
    ({"float": [0.5, 0.5]}, "empty range"),
    ({"float": [0.0, 1.0], "log": True}, "log: true needs bounds > 0"),
    ({"int": [1.5, 4]}, "list [low, high] of two ints"),
    ({"choice": []}, "non-empty list"),
    ({"choice": ["a", "a"]}, "twice"),
    ({"float": [0.1, 0.4], "scale": 2}, "unknown search keys"),
    ({"float": [0.1, 0.4], "default": 0.9}, "default must be"),
])
def test_bad_dimensions(dim, message):
    raw = copy.deepcopy(BASE)
    raw["model"]["dropout"] = dim
    errors = errors_of(raw)
    assert any(message in e and e.startswith("model.dropout") for e in errors), errors


def test_dimensions_outside_what_a_trial_trains_are_refused():
    raw = copy.deepcopy(BASE)
    raw["compress"] = {"prune": {"amount": {"float": [0.2, 0.8]}}}
    errors = errors_of(raw)
    assert any(e.startswith("compress.prune.amount is a search dimension, but only seed, data, "
                            "model, train may hold them") for e in errors), errors


def test_unknown_literal_lists_valid_choices():
    raw = copy.deepcopy(BASE)
    raw["train"]["schedule"] = {"name": "cosinus"}
    assert errors_of(raw) == ["train.schedule.name must be 'constant', 'step', 'exponential', "
                              "'cosine', 'onecycle' or 'plateau'; got 'cosinus'"]


def test_overrides_fix_dimensions_and_reach_into_conditional_options():
    spec = spec_from_dict(BASE, overrides=["model.dropout=0.2", "train.optimizer.lr=0.05",
                                           "train.ema.decay=0.99", "model.channels=[8, 16]"]).default
    assert spec.model.dropout == 0.2
    assert spec.train.optimizer.lr == 0.05
    assert spec.train.ema.decay == 0.99
    assert spec.model.channels == [8, 16]


def test_override_can_introduce_a_dimension():
    template = spec_from_dict(BASE, overrides=["train.batch_size={choice: [32, 64]}"])
    assert "train.batch_size" in [d.name for d in template.dimensions]


@pytest.mark.parametrize("override, message", [
    ("train.epochs", "must be KEY=VALUE"),
    ("train..epochs=3", "empty part"),
    ("train.epochs.x=3", "not a mapping"),
    ("model.activation.x=1", "choice of plain values"),
])
def test_bad_overrides(override, message):
    assert any(message in e for e in errors_of(BASE, [override]))


def test_yaml_reads_exponent_floats_and_reports_malformed_files(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("data: {source: 'builtin:iris'}\nmodel: {family: mlp}\n"
                    "train: {optimizer: {lr: 1e-4}}\n")
    assert load_spec(path).default.train.optimizer.lr == 1e-4
    path.write_text("data: {source: [\n")
    with pytest.raises(SpecError, match=r"s.yaml: line \d+, column \d+: malformed YAML"):
        load_spec(path)
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "missing.yaml")
    path.write_text("- a\n- b\n")
    with pytest.raises(SpecError, match="must hold a mapping"):
        load_spec(path)


def test_missing_sections_are_named():
    assert errors_of({"name": "x"}) == ["data is required", "model is required"]


def test_dump_is_reloadable_and_complete(tmp_path):
    spec = spec_from_dict(BASE).default
    text = dump_spec(spec)
    assert "weight_decay" in text  # defaults filled
    path = tmp_path / "again.yaml"
    path.write_text(text)
    assert load_spec(path).default == spec
