"""Transfer learning: load_weights with exclude, one-line errors, freeze and unfreeze."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from honed.errors import CheckpointError, ModelError
from honed.models import create_model, freeze, load_weights, save_model, unfreeze


def _cnn(outputs: int):
    return create_model("cnn", input_shape=(1, 6, 6), num_outputs=outputs, channels=[4, 8],
                        hidden=16)


@pytest.fixture
def pretrained(tmp_path: Path):
    """A 10-class CNN saved as a run dir (``run/model/weights.safetensors``)."""
    torch.manual_seed(1)
    model = _cnn(10)
    save_model(model, tmp_path / "run" / "model", family="cnn",
               knobs={"channels": [4, 8], "hidden": 16}, input_shape=(1, 6, 6), num_outputs=10,
               task="classification")
    return model, tmp_path / "run"


def test_new_head_keeps_its_own_init(pretrained) -> None:
    source, run = pretrained
    torch.manual_seed(2)
    model = _cnn(3)
    head = model.head.weight.detach().clone()
    loaded = load_weights(model, run, exclude=["head.*"])
    assert "head.weight" not in loaded and "features.0.weight" in loaded
    assert torch.equal(model.head.weight, head)
    own, theirs = model.state_dict(), source.state_dict()
    assert all(torch.equal(own[name], theirs[name]) for name in loaded)  # BN stats too


@pytest.mark.parametrize("where", ["run", "folder", "file"])
def test_path_forms(pretrained, where: str) -> None:
    source, run = pretrained
    path = {"run": run, "folder": run / "model",
            "file": run / "model" / "weights.safetensors"}[where]
    model = _cnn(10)
    load_weights(model, path)
    assert torch.equal(model.head.weight, source.head.weight)


def test_shape_mismatch_is_one_line_naming_file_and_shapes(pretrained) -> None:
    _, run = pretrained
    file = run / "model" / "weights.safetensors"
    with pytest.raises(CheckpointError) as err:
        load_weights(_cnn(3), run)
    message = str(err.value)
    assert "\n" not in message
    assert f"head.weight has shape [10, 16] in {file}, the model expects [3, 16]" in message
    assert "(and 1 more)" in message and "exclude" in message


def test_missing_and_unexpected_keys(tmp_path: Path) -> None:
    model = create_model("mlp", input_shape=(3,), num_outputs=2, hidden=4, depth=1)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    file = tmp_path / "w.safetensors"
    save_file({k: v for k, v in state.items() if k != "head.bias"}, file)
    with pytest.raises(CheckpointError, match=f"missing key 'head.bias' in {file}"):
        load_weights(model, file)
    load_weights(model, file, exclude=["head.bias"])
    save_file({**state, "extra.weight": torch.zeros(1)}, file)
    with pytest.raises(CheckpointError, match="unexpected key 'extra.weight'"):
        load_weights(model, file)
    load_weights(model, file, exclude=["extra.*"])
    with pytest.raises(ModelError, match="exclude pattern 'hed.*' matches no weight"):
        load_weights(model, file, exclude=["hed.*"])


def test_unreadable_files(tmp_path: Path) -> None:
    model = create_model("mlp", input_shape=(3,), num_outputs=2, hidden=4)
    with pytest.raises(CheckpointError, match="no weights at"):
        load_weights(model, tmp_path / "nowhere")
    bad = tmp_path / "weights.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}garbage")
    with pytest.raises(CheckpointError, match=f"cannot read weights from {bad}") as err:
        load_weights(model, tmp_path)
    assert "\n" not in str(err.value)
    bad.write_bytes(b"")
    with pytest.raises(CheckpointError, match="cannot read weights"):
        load_weights(model, bad)


def test_freeze_and_unfreeze() -> None:
    model = create_model("mlp", input_shape=(3,), num_outputs=2, hidden=4, depth=2)
    frozen = freeze(model, ["body"])
    assert frozen == ["body.0.weight", "body.0.bias", "body.4.weight", "body.4.bias"]
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["head.weight",
                                                                           "head.bias"]
    assert freeze(model, "*.bias") == ["body.0.bias", "body.4.bias", "head.bias"]
    with pytest.raises(ModelError, match=r"pattern 'encoder\.\*' matches no parameter; the "
                                         r"model has body.0.weight, body.0.bias"):
        freeze(model, ["encoder.*"])
    assert unfreeze(model, ["head.*"]) == ["head.weight", "head.bias"]
    unfreeze(model)
    assert all(p.requires_grad for p in model.parameters())


def test_frozen_parameters_do_not_train() -> None:
    model = create_model("mlp", input_shape=(3,), num_outputs=2, hidden=4)
    freeze(model, ["body.*"])
    before = model.body[0].weight.detach().clone()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=0.5)
    model(torch.randn(8, 3)).square().mean().backward()
    optimizer.step()
    assert torch.equal(model.body[0].weight, before)
