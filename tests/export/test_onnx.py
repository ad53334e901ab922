"""``export_onnx`` on every model family: ONNX Runtime matches eager PyTorch within 1e-4 at batch
1 and at a larger batch, with the dynamo exporter; the TorchScript fallback runs for real on a
model the dynamo exporter refuses."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from honed.errors import BundleError, ExportError
from honed.export import export_onnx, ort_session, run_session
from honed.models import create_model

SHAPES = {"mlp": (6,), "cnn": (2, 8, 8), "resnet": (2, 8, 8), "rnn": (5, 3), "lstm": (5, 3),
          "gru": (5, 3), "transformer": (5, 3)}
KNOBS = {"cnn": {"channels": [4, 8], "hidden": 8}, "resnet": {"channels": [4, 8], "depth": 1},
         "transformer": {"hidden": 8, "heads": 2, "depth": 1}, "mlp": {"hidden": 8},
         "rnn": {"hidden": 8}, "lstm": {"hidden": 8, "bidirectional": True},
         "gru": {"hidden": 8, "depth": 2}}


def parity(model: nn.Module, path, shape, batches=(1, 33)) -> float:
    session = ort_session(path)
    worst = 0.0
    for batch in batches:
        x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            expected = model(x).numpy()
        got = run_session(session, x.numpy())
        assert got.shape == expected.shape == (batch, 3)
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


@pytest.mark.parametrize("family", sorted(SHAPES))
def test_every_family_exports_with_dynamo_and_matches(family, tmp_path, capfd):
    torch.manual_seed(0)
    model = create_model(family, input_shape=SHAPES[family], num_outputs=3, **KNOBS[family])
    model.eval()
    result = export_onnx(model, SHAPES[family], tmp_path / "m.onnx")
    assert result.exporter == "dynamo" and result.notes == ()
    assert result.opset >= 18 and result.path == tmp_path / "m.onnx"
    assert parity(model, result.path, SHAPES[family]) <= 1e-4
    proto = onnx.load(str(result.path))
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["output"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # a named, dynamic axis
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temp or data files
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # the exporters' chatter stays out of the terminal


class CheckedInput(nn.Module):
    """A branch on the data (a guard against non-finite input): torch.export refuses it."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 3)

    def forward(self, x):
        if torch.isfinite(x).all():
            return self.layer(x)
        return torch.zeros(x.shape[0], 3)


def test_fallback_to_the_torchscript_exporter(tmp_path, capfd):
    model = CheckedInput().eval()
    result = export_onnx(model, (4,), tmp_path / "m.onnx")
    assert result.exporter == "torchscript" and result.opset == 17
    assert "dynamo exporter" in result.notes[0] and "data-dependent" in result.notes[0]
    assert parity(model, result.path, (4,)) <= 1e-4
    assert capfd.readouterr().out == ""


def test_transformer_through_the_torchscript_exporter(tmp_path):
    """The switch ``exporter="torchscript"``; the fused attention fast path is turned off."""
    torch.manual_seed(0)
    model = create_model("transformer", input_shape=(5, 3), num_outputs=3, hidden=8, heads=2,
                         depth=1).eval()
    result = export_onnx(model, (5, 3), tmp_path / "m.onnx", exporter="torchscript")
    assert result.exporter == "torchscript"
    assert parity(model, result.path, (5, 3)) <= 1e-4
    assert torch.backends.mha.get_fastpath_enabled()  # put back


class Broken(nn.Module):
    def forward(self, x):
        raise RuntimeError("no forward here")


def test_a_model_no_exporter_can_handle_is_one_error(tmp_path):
    with pytest.raises(ExportError, match="dynamo exporter.*no forward here.*torchscript "
                       "exporter.*no forward here"):
        export_onnx(Broken(), (4,), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="exporter must be one of"):
        export_onnx(Broken(), (4,), tmp_path / "m.onnx", exporter="tflite")


def test_the_callers_model_is_left_as_it_was(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 3)).train()
    export_onnx(model, (4,), tmp_path / "m.onnx", exporter="torchscript")
    assert model.training  # an eval copy was exported


def test_runtime_refuses_a_file_that_is_not_onnx(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(BundleError, match="ONNX Runtime cannot load"):
        ort_session(bad)


def test_run_session_casts_to_float32(tmp_path):
    model = nn.Linear(4, 3).eval()
    export_onnx(model, (4,), tmp_path / "m.onnx", exporter="torchscript")
    out = run_session(ort_session(tmp_path / "m.onnx", threads=1), np.ones((2, 4)))
    assert out.dtype == np.float32 and out.shape == (2, 3)


def test_an_opset_below_18_goes_to_the_torchscript_exporter(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3)).eval()
    result = export_onnx(model, (4,), tmp_path / "m.onnx", opset=13)
    assert result.exporter == "torchscript" and result.opset == 13
    assert "writes opset 18 or later" in result.notes[0]
