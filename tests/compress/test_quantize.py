"""int8 quantization with ONNX Runtime: valid models, close outputs, the accuracy fallback."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from honed.compress.quantize import onnx_scorer, quantize_onnx
from honed.errors import UserInputError
from honed.export.onnx import export_onnx
from honed.export.runtime import ort_session, run_session
from honed.models import create_model
from tests.helpers import blobs, linear_regression

FEATURES = 7  # six informative features and one that is always zero
SMALL = {"cnn": {"channels": [4, 8], "hidden": 16}, "resnet": {"channels": [4, 8], "depth": 1},
         "lstm": {"hidden": 8}, "transformer": {"hidden": 16, "depth": 1, "heads": 2}}


def _pad(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.zeros((len(x), 1), np.float32)], axis=1)


def _train(model: nn.Module, x: np.ndarray, y: np.ndarray, steps: int = 150) -> nn.Module:
    """Full-batch Adam: a fraction of a second, the same weights on every run.

    One thread: on a busy 2-core machine, two threads make these tiny steps 40 times slower.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for _ in range(steps):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(xt), yt).backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A trained 7-16-3 MLP exported twice: as is, and with an outlier weight column."""
    folder = tmp_path_factory.mktemp("quantize")
    data = blobs(n=400, features=FEATURES - 1, classes=3)
    x, y = _pad(data.train.x), data.train.y
    xv, yv = _pad(data.val.x), data.val.y
    torch.manual_seed(0)
    model = _train(nn.Sequential(nn.Linear(FEATURES, 16), nn.ReLU(), nn.Linear(16, 3)), x, y)
    # The TorchScript exporter takes a tenth of the time of dynamo on a model this small.
    plain = export_onnx(model, (FEATURES,), folder / "plain.onnx", exporter="torchscript").path
    # Weights of 1000 on the always-zero feature leave the float model's outputs unchanged,
    # but stretch every int8 scale of the first layer so that its other weights round to 0.
    with torch.no_grad():
        model[0].weight[:, FEATURES - 1] = 1000.0
    outlier = export_onnx(model, (FEATURES,), folder / "outlier.onnx", exporter="torchscript").path
    return {"plain": plain, "outlier": outlier, "x": x, "xv": xv, "yv": yv}


def _outputs(path, x) -> np.ndarray:
    return run_session(ort_session(path, threads=1), x)


def _per_channel_scales(path) -> list[int]:
    model = onnx.load(str(path))
    return [int(np.prod(init.dims)) for init in model.graph.initializer
            if "weight" in init.name and init.name.endswith("_scale")]


def _check_close(setup, path) -> None:
    onnx.checker.check_model(onnx.load(str(path)))
    reference, outputs = _outputs(setup["plain"], setup["xv"]), _outputs(path, setup["xv"])
    assert outputs.shape == (len(setup["xv"]), 3)
    assert np.abs(outputs - reference).max() < 0.05 * np.abs(reference).max()
    assert (outputs.argmax(1) == reference.argmax(1)).mean() >= 0.95


def test_dynamic_is_valid_close_and_per_channel(setup, tmp_path):
    result = quantize_onnx(setup["plain"], tmp_path / "int8.onnx", mode="dynamic", threads=1)
    _check_close(setup, result.path)
    ops = {node.op_type for node in onnx.load(str(result.path)).graph.node}
    assert "MatMulInteger" in ops
    assert sorted(_per_channel_scales(result.path)) == [3, 16]  # one scale per output channel
    assert result.mode == "dynamic" and result.calibration is None and result.per_channel
    assert set(result.latency_ms) == set(result.float_latency_ms) == {"batch1", "batch64"}
    assert all(v > 0 for v in [*result.latency_ms.values(), *result.float_latency_ms.values()])
    assert result.faster == all(result.latency_ms[k] < result.float_latency_ms[k]
                                for k in result.latency_ms)
    assert "float ONNX" in result.note


@pytest.mark.parametrize("calibration", ["minmax", "entropy", "percentile"])
def test_static_qdq_is_valid_close_and_per_channel(setup, tmp_path, calibration):
    result = quantize_onnx(setup["plain"], tmp_path / "int8.onnx", mode="static",
                           calibration=calibration, calibration_data=setup["x"], measure=False)
    _check_close(setup, result.path)
    ops = [node.op_type for node in onnx.load(str(result.path)).graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    assert sorted(_per_channel_scales(result.path)) == [3, 16]
    assert result.calibration == calibration and f"{calibration} calibration" in result.note
    assert result.calibration_samples == 192  # 240 training rows, in whole batches of 64
    assert list(tmp_path.iterdir()) == [result.path]  # scratch files stay out of the folder


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_fallback_keeps_the_responsible_node_in_float(setup, tmp_path, mode):
    score = onnx_scorer(setup["xv"], setup["yv"], "classification")
    baseline = score(setup["outlier"])
    plain = quantize_onnx(setup["outlier"], tmp_path / "plain.onnx", mode=mode,
                          calibration_data=setup["x"], score=score, measure=False)
    assert plain.score < baseline - 0.2  # int8 everywhere wrecks this model
    result = quantize_onnx(setup["outlier"], tmp_path / "int8.onnx", mode=mode,
                           calibration_data=setup["x"], score=score, max_drop=0.01,
                           measure=False)
    first = min(result.sensitivity)  # node names sort in graph order here
    assert result.excluded == [first]
    assert result.sensitivity[first] == max(result.sensitivity.values()) > 0.2
    assert result.within_budget and result.baseline - result.score <= 0.01
    assert result.score == score(result.path)
    # The excluded first layer keeps its float weights; the head's are stored in int8.
    first_weight, head_weight = (
        init.name for init in onnx.load(str(setup["outlier"])).graph.initializer
        if len(init.dims) == 2)
    stored = {init.name: init.data_type for init in onnx.load(str(result.path)).graph.initializer}
    # ONNX Runtime may rewrite a Gemm as a MatMul over "<weight>_Transposed" (1.32 does)
    first = {name: kind for name, kind in stored.items() if name.startswith(first_weight)}
    head = {name: kind for name, kind in stored.items() if name.startswith(head_weight)}
    assert first and set(first.values()) == {onnx.TensorProto.FLOAT}, first
    assert not any(name.endswith("_quantized") for name in first), first
    assert [kind for name, kind in head.items() if name.endswith("_quantized")] == [
        onnx.TensorProto.INT8], head
    assert "1 of 2 weighted nodes kept in float" in result.note


def test_zero_budget_keeps_every_weighted_node_in_float(setup, tmp_path):
    reference = _outputs(setup["plain"], setup["xv"])

    def fidelity(path) -> float:  # 0 for the float model, below 0 for any rounding
        return -float(np.abs(_outputs(path, setup["xv"]) - reference).mean())

    result = quantize_onnx(setup["plain"], tmp_path / "int8.onnx", mode="dynamic",
                           score=fidelity, baseline=0.0, max_drop=0.0, measure=False)
    assert len(result.excluded) == 2 and result.within_budget and result.score == 0.0
    assert result.evaluations == 4  # the full model, each node alone, then both


def test_an_unreachable_budget_says_why(setup, tmp_path):
    score = onnx_scorer(setup["xv"], setup["yv"], "classification")
    result = quantize_onnx(setup["plain"], tmp_path / "int8.onnx", score=score, baseline=1.5,
                           max_drop=0.01, measure=False)
    assert result.within_budget is False and len(result.excluded) == 2
    assert "nothing left to exclude" in result.note
    assert result.path.is_file()


def test_static_without_calibration_data_is_refused(setup, tmp_path):
    out = tmp_path / "int8.onnx"
    with pytest.raises(UserInputError, match="calibration data") as info:
        quantize_onnx(setup["plain"], out, mode="static")
    assert "\n" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mode": "int4"}, "mode must be one of dynamic, static"),
    ({"calibration": "kl"}, "calibration must be one of minmax, entropy, percentile"),
    ({"max_drop": 0.01}, "max_drop needs a score"),
    ({"max_drop": -1, "score": len}, "max_drop must be a number >= 0"),
    ({"mode": "static", "calibration_data": np.zeros((8, 3), np.float32)}, r"shape \[8, 3\]"),
    ({"mode": "static", "calibration_data": np.full((8, FEATURES), np.nan, np.float32)}, "NaN"),
])
def test_bad_arguments_are_one_line_errors(setup, tmp_path, kwargs, message):
    with pytest.raises(UserInputError, match=message):
        quantize_onnx(setup["plain"], tmp_path / "int8.onnx", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_or_broken_model_is_refused(tmp_path):
    with pytest.raises(UserInputError, match="no such ONNX file"):
        quantize_onnx(tmp_path / "none.onnx", tmp_path / "int8.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(UserInputError, match="not an ONNX model"):
        quantize_onnx(tmp_path / "junk.onnx", tmp_path / "int8.onnx")
    assert not (tmp_path / "int8.onnx").exists()


def test_a_lower_is_better_metric(tmp_path):
    data = linear_regression(n=200, features=4)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)).eval()
    path = export_onnx(model, (4,), tmp_path / "reg.onnx", exporter="torchscript").path
    score = onnx_scorer(data.val.x, data.val.y, "regression", "mse")
    assert score.metric == "mse" and score.higher_is_better is False
    result = quantize_onnx(path, tmp_path / "int8.onnx", score=score, max_drop=1.0,
                           higher_is_better=score.higher_is_better, measure=False)
    assert result.drop == pytest.approx(result.score - result.baseline)
    assert result.within_budget and result.excluded == []


def test_scorer_refuses_a_metric_of_another_task():
    with pytest.raises(UserInputError, match="metric must be one of mse, mae, r2"):
        onnx_scorer(np.zeros((2, 4), np.float32), np.zeros((2, 1)), "regression", "accuracy")


@pytest.mark.parametrize(("family", "shape", "mode"), [
    ("cnn", (1, 8, 8), "static"), ("resnet", (1, 8, 8), "dynamic"), ("lstm", (6, 2), "dynamic"),
    ("transformer", (6, 2), "static"),
])
def test_other_families_quantize_to_close_outputs(tmp_path, family, shape, mode):
    torch.manual_seed(0)
    model = create_model(family, input_shape=shape, num_outputs=3, **SMALL.get(family, {}))
    path = export_onnx(model.eval(), shape, tmp_path / "m.onnx", exporter="torchscript").path
    x = np.random.default_rng(0).standard_normal((64, *shape)).astype(np.float32)
    result = quantize_onnx(path, tmp_path / "int8.onnx", mode=mode, calibration_data=x,
                           measure=False)
    reference, outputs = _outputs(path, x), _outputs(result.path, x)
    assert outputs.shape == reference.shape == (64, 3)
    assert np.abs(outputs - reference).max() < 0.1 * np.abs(reference).max()
