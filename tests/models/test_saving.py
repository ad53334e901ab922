"""save_model / load_model / count_parameters: the files, their contents, and refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from honed.errors import CheckpointError, ModelError
from honed.models import (
    count_parameters,
    create_model,
    freeze,
    load_model,
    read_model_json,
    save_model,
)


def _mlp(**knobs):
    return create_model("mlp", input_shape=(4,), num_outputs=3, hidden=8, **knobs)


def test_files_and_record(tmp_path: Path) -> None:
    model = _mlp(norm="batch")
    save_model(model, tmp_path / "m", family="mlp", knobs={"hidden": 8, "norm": "batch"},
               input_shape=(4,), num_outputs=3, task="classification",
               extra={"class_names": ["a", "b", "c"]})
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["model.json", "weights.safetensors"]
    record = json.loads((tmp_path / "m" / "model.json").read_text())
    assert record["family"] == "mlp"
    # Defaults are pinned, so a later change of a default cannot change a saved model.
    assert record["knobs"] == {"depth": 2, "hidden": 8, "dropout": 0.0, "activation": "relu",
                               "init": "default", "norm": "batch"}
    assert record["input_shape"] == [4] and record["num_outputs"] == 3
    assert record["parameters"] == count_parameters(model)
    assert record["extra"] == {"class_names": ["a", "b", "c"]}
    assert isinstance(record["honed_version"], str) and record["honed_version"]
    assert set(load_file(tmp_path / "m" / "weights.safetensors")) == set(model.state_dict())
    assert read_model_json(tmp_path / "m") == record


def test_load_from_a_run_dir(tmp_path: Path) -> None:
    model = create_model("cnn", input_shape=(1, 6, 6), num_outputs=2, channels=[4], hidden=8)
    save_model(model, tmp_path / "run" / "model", family="cnn",
               knobs={"channels": (4,), "hidden": 8}, input_shape=(1, 6, 6), num_outputs=2,
               task="regression")
    loaded = load_model(tmp_path / "run")
    assert loaded.state_dict().keys() == model.state_dict().keys()


def test_saving_does_not_touch_the_random_stream(tmp_path: Path) -> None:
    model = _mlp()
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    save_model(model, tmp_path, family="mlp", knobs={"hidden": 8}, input_shape=(4,),
               num_outputs=3, task="classification")
    assert torch.equal(torch.rand(3), expected)


def test_model_that_does_not_match_its_knobs_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"body.0.weight is \[8, 4\] in the model, \[16, 4\]"):
        save_model(_mlp(), tmp_path, family="mlp", knobs={"hidden": 16}, input_shape=(4,),
                   num_outputs=3, task="classification")
    with pytest.raises(ModelError, match="JSON-ready"):
        save_model(_mlp(), tmp_path, family="mlp", knobs={"hidden": 8}, input_shape=(4,),
                   num_outputs=3, task="classification", extra={"x": object()})
    assert not list(tmp_path.iterdir())


def test_callable_family_is_saved_by_import_path(tmp_path: Path, user_module: str) -> None:
    from importlib import import_module

    build = import_module(user_module).build
    model = create_model(build, input_shape=(3,), num_outputs=2, hidden=5)
    save_model(model, tmp_path, family=build, knobs={"hidden": 5}, input_shape=(3,),
               num_outputs=2, task="classification")
    assert read_model_json(tmp_path)["family"] == f"{user_module}:build"
    x = torch.randn(2, 3)
    assert torch.equal(load_model(tmp_path)(x), model.eval()(x))

    def local(input_shape, num_outputs, task):
        return build(input_shape, num_outputs, task=task)

    with pytest.raises(ModelError, match="cannot record model factory"):
        save_model(model, tmp_path, family=local, knobs={}, input_shape=(3,), num_outputs=2,
                   task="classification")


def test_tied_weights_are_written_once_and_restored(tmp_path: Path, user_module: str) -> None:
    family = f"{user_module}:tied"
    model = create_model(family, input_shape=(3,), num_outputs=2)
    assert model[0].weight is model[2].weight
    save_model(model, tmp_path, family=family, knobs={}, input_shape=(3,), num_outputs=2,
               task="classification")
    assert "2.weight" not in load_file(tmp_path / "weights.safetensors")
    loaded = load_model(tmp_path)
    assert loaded[0].weight is loaded[2].weight
    assert torch.equal(loaded[2].weight, model[2].weight)


def test_bad_model_json(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="model.json is missing"):
        load_model(tmp_path)
    save_model(_mlp(), tmp_path, family="mlp", knobs={"hidden": 8}, input_shape=(4,),
               num_outputs=3, task="classification")
    path = tmp_path / "model.json"
    path.write_text("{not json")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_model(tmp_path)
    path.write_text(json.dumps({"family": "mlp"}))
    with pytest.raises(CheckpointError, match="not a honed model.json"):
        load_model(tmp_path)
    path.write_text(json.dumps({"family": "nope", "knobs": {}, "input_shape": [4],
                                "num_outputs": 3, "task": "classification"}))
    with pytest.raises(CheckpointError, match="cannot rebuild .* unknown model family 'nope'"):
        load_model(tmp_path)


def test_count_parameters() -> None:
    model = _mlp()  # 4*8+8 + 8*8+8 + 8*3+3
    assert count_parameters(model) == 139
    freeze(model, ["body"])
    assert count_parameters(model, trainable_only=True) == 27
