"""Latency, size and MAC counts: positive medians, restored torch state, exact hand counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from honed.compress.measure import count_macs, onnx_latency_ms, size_bytes, torch_latency_ms
from honed.errors import UserInputError
from honed.export.onnx import export_onnx
from honed.models import create_model
from tests.helpers import tiny_net

QUICK = {"repeats": 20, "warmup": 2}


def test_onnx_latency_is_a_positive_median(tmp_path):
    path = export_onnx(tiny_net(), (6,), tmp_path / "m.onnx", exporter="torchscript").path
    one = onnx_latency_ms(path, batch=1, threads=1, **QUICK)
    many = onnx_latency_ms(path, batch=64, threads=1, **QUICK)
    assert 0 < one < 100 and 0 < many < 100


def test_onnx_latency_refuses_a_bad_batch(tmp_path):
    path = export_onnx(tiny_net(), (6,), tmp_path / "m.onnx", exporter="torchscript").path
    with pytest.raises(UserInputError, match="batch must be a positive integer"):
        onnx_latency_ms(path, batch=0)


def test_torch_latency_restores_threads_and_mode():
    model = tiny_net().train()
    threads = torch.get_num_threads()
    ms = torch_latency_ms(model, (6,), batch=4, threads=1, **QUICK)
    assert ms > 0
    assert torch.get_num_threads() == threads and model.training
    assert not torch.is_inference_mode_enabled()


def test_size_bytes_of_a_file_and_a_folder(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"x" * 10)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.bin").write_bytes(b"y" * 5)
    assert size_bytes(tmp_path / "a.bin") == 10
    assert size_bytes(tmp_path) == 15
    with pytest.raises(UserInputError, match="does not exist"):
        size_bytes(tmp_path / "none")


def test_macs_of_mlp_equal_the_hand_count():
    model = create_model("mlp", input_shape=(1, 28, 28), num_outputs=10, hidden=128, depth=2)
    assert count_macs(model, (1, 28, 28)) == 784 * 128 + 128 * 128 + 128 * 10


def test_macs_of_a_cnn_equal_the_hand_count():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4 * 8 * 8, 10))
    assert count_macs(model, (1, 8, 8)) == 4 * 8 * 8 * (1 * 3 * 3) + 256 * 10


def test_macs_of_a_gru_equal_the_hand_count():
    model = create_model("gru", input_shape=(5, 2), num_outputs=3, hidden=4, depth=1)
    # 3 gates × hidden × (input + hidden) per step, 5 steps; then the head.
    assert count_macs(model, (5, 2)) == 5 * 3 * 4 * (2 + 4) + 4 * 3


@pytest.mark.parametrize("family", ["resnet", "rnn", "lstm", "transformer"])
def test_macs_of_other_families_are_positive(family):
    shape = (1, 8, 8) if family == "resnet" else (12, 2)
    model = create_model(family, input_shape=shape, num_outputs=3)
    training = model.training
    assert count_macs(model, shape) > 0
    assert model.training == training


def test_macs_of_a_model_that_cannot_run_is_none():
    assert count_macs(nn.Linear(3, 2), (5,)) is None
