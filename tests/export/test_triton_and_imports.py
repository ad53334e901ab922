"""The Triton model repository, and the torch-free reader."""

from __future__ import annotations

import subprocess
import sys

from honed.export.card import file_sha256
from honed.export.triton import triton_config, triton_model_name


def test_triton_repository_in_the_bundle(bundled_run):
    folder = bundled_run / "bundle" / "triton" / "iris-mlp"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == [
        "1", "1/model.onnx", "config.pbtxt"]
    assert file_sha256(folder / "1" / "model.onnx") == file_sha256(
        bundled_run / "bundle" / "model.onnx")
    text = (folder / "config.pbtxt").read_text()
    assert text == triton_config("iris-mlp", (4,), 3, max_batch_size=64)
    for line in ('name: "iris-mlp"', 'platform: "onnxruntime_onnx"', "max_batch_size: 64",
                 'name: "input"', 'name: "output"', "data_type: TYPE_FP32", "dims: [ 4 ]",
                 "dims: [ 3 ]", "kind: KIND_CPU", "dynamic_batching {"):
        assert line in text, line


def test_triton_config_shapes_and_names():
    text = triton_config("m", (1, 28, 28), 10, max_batch_size=16)
    assert "dims: [ 1, 28, 28 ]" in text and "dims: [ 10 ]" in text
    assert "preferred_batch_size: [ 8, 16 ]" in text
    assert text.count("{") == text.count("}") and text.count("[") == text.count("]")
    assert triton_model_name("my run/v2") == "my_run_v2" and triton_model_name("..") == "model"


def test_reading_a_bundle_does_not_import_torch(bundled_run):
    code = ("import sys; from honed.export.card import read_bundle; "
            f"b = read_bundle({str(bundled_run / 'bundle')!r}); "
            "from honed.export import ort_session, run_session; import numpy as np; "
            "print(run_session(ort_session(b.model_path), np.zeros((2, 4))).shape); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(2, 3)"
