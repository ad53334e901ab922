"""The runtime: bundle checks, the child probe, preprocessing and output conversion."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from honed.errors import BundleError, DataError
from honed.export.card import card_sha256, file_sha256
from honed.serve.runtime import load_runtime, probe_model
from tests.serve.conftest import honed

IRIS_ROW = {"sepal length (cm)": 5.1, "sepal width (cm)": 3.5, "petal length (cm)": 1.4,
            "petal width (cm)": 0.2}


def copy_bundle(bundle, dest):
    dest.mkdir()
    for name in ("model.onnx", "preprocess.json", "card.json"):
        (dest / name).write_bytes((bundle / name).read_bytes())
    return dest


def rehash(folder, **card_changes):
    """Record the current hashes in card.json (and its own), as a forger would."""
    card = {**json.loads((folder / "card.json").read_text()), **card_changes}
    card["files"] = {name: file_sha256(folder / name) for name in card["files"]}
    card["card_sha256"] = card_sha256(card)
    (folder / "card.json").write_text(json.dumps(card))


def edit_json(path, **changes):
    value = {**json.loads(path.read_text()), **changes}
    path.write_text(json.dumps({k: v for k, v in value.items() if v is not None}))


def test_serving_path_never_imports_torch():
    code = ("import honed.serve.runtime, honed.serve.app, honed.serve.predict, "
            "honed.serve.server, honed.export.card, sys; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_predictions_match_the_preprocessing_and_the_session(bundles):
    from honed.data.transform import apply_preprocess
    from honed.export.runtime import ort_session, run_session

    runtime = load_runtime(bundles["iris"])
    assert runtime.kind == "table" and runtime.class_names == ["setosa", "versicolor",
                                                               "virginica"]
    rows = [IRIS_ROW, {**IRIS_ROW, "petal length (cm)": 5.0}]
    predicted = runtime.predict(rows)
    logits = run_session(ort_session(bundles["iris"] / "model.onnx"),
                         apply_preprocess(runtime.preprocess, rows))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(predicted.probabilities, probs, rtol=1e-5)
    records = predicted.records()
    assert records[0]["class"] == runtime.class_names[int(probs[0].argmax())]
    assert abs(sum(records[1]["probabilities"].values()) - 1) < 1e-9
    meta = runtime.metadata()
    assert meta["task"] == "classification" and len(meta["input"]["columns"]) == 4
    assert "test" in meta["metrics"]


def test_image_arrays_and_per_payload_errors(bundles):
    runtime = load_runtime(bundles["digits"])
    assert runtime.input_shape == (1, 8, 8)
    x = np.arange(3 * 64, dtype=np.float64).reshape(3, 1, 8, 8) % 17
    together = runtime.predict_many([x[:1], x[1:]])
    alone = [runtime.predict(x[:1]).records(), runtime.predict(x[1:]).records()]
    assert [len(r) for r in together] == [1, 2]
    for a, b in zip(together, alone, strict=True):
        for ra, rb in zip(a, b, strict=True):
            assert ra["class"] == rb["class"]
            np.testing.assert_allclose(list(ra["probabilities"].values()),
                                       list(rb["probabilities"].values()), rtol=1e-5)
    with pytest.raises(DataError, match="do not fit"):
        runtime.predict(np.zeros((1, 1, 7, 8)))


def test_a_tampered_bundle_is_refused(bundles, tmp_path):
    folder = copy_bundle(bundles["iris"], tmp_path / "b")
    text = (folder / "preprocess.json").read_text().replace("setosa", "setoza")
    (folder / "preprocess.json").write_text(text)
    with pytest.raises(BundleError, match="does not match the sha256"):
        load_runtime(folder)
    done = honed("serve", folder, "--port", "0")
    assert done.returncode == 2 and "sha256" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_corrupt_model_is_refused_with_exit_2(bundles, tmp_path, damage):
    folder = copy_bundle(bundles["digits"], tmp_path / "b")
    model = (folder / "model.onnx").read_bytes()
    (folder / "model.onnx").write_bytes(os.urandom(4096) if damage == "garbage"
                                        else model[: len(model) // 3])
    rehash(folder)
    done = honed("serve", folder, "--port", "0")
    assert done.returncode == 2, done.stderr
    assert "model.onnx" in done.stderr and "Traceback" not in done.stderr


def test_external_data_outside_the_bundle_is_refused(bundles, tmp_path):
    import onnx

    folder = copy_bundle(bundles["iris"], tmp_path / "b")
    proto = onnx.load(str(folder / "model.onnx"))
    tensor = proto.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="../../etc/passwd")
    onnx.save(proto, str(folder / "model.onnx"))
    rehash(folder)
    done = honed("serve", folder, "--port", "0")
    assert done.returncode == 2 and "outside the bundle" in done.stderr


def test_a_model_that_fails_in_onnx_runtime_is_caught_by_the_child_probe(bundles, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    # valid ONNX (the checker passes), but reshaping [N, 4] to [-1, 7] fails when it runs
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 7])
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["input", "shape"], ["output"])], "bad",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 7])], [shape])
    folder = copy_bundle(bundles["iris"], tmp_path / "b")
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))
    rehash(folder)
    with pytest.raises(BundleError, match="ONNX Runtime failed on the model"):
        load_runtime(folder)
    assert honed("predict", folder, tmp_path / "none.csv").returncode == 2


def test_a_hanging_model_load_times_out_in_the_child(tmp_path):
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)  # opening it blocks forever: a stand-in for a model that hangs the runtime
    with pytest.raises(BundleError, match="did not load and run the model within"):
        probe_model(fifo, (4,), timeout=1)


def test_a_card_that_does_not_fit_the_model_is_refused(bundles, tmp_path):
    folder = copy_bundle(bundles["iris"], tmp_path / "b")
    names = ["setosa", "versicolor", "virginica", "extra"]
    edit_json(folder / "preprocess.json", class_names=names)
    rehash(folder, output={"shape": [4], "kind": "logits"}, class_names=names)
    with pytest.raises(BundleError, match=r"output has shape \[2, 3\].*expects \[2, 4\]"):
        load_runtime(folder)


@pytest.mark.parametrize("forge, message", [
    (lambda b: rehash(b, task="regression", class_names=None,
                      output={"shape": [3], "kind": "values"}),
     "is for a 'classification' model; card.json says 'regression'"),
    (lambda b: (edit_json(b / "card.json", task="regression")), "its own card_sha256"),
    (lambda b: (edit_json(b / "preprocess.json", columns=None), rehash(b)),
     "must list its input 'columns'"),
], ids=["task-resealed", "task-edited", "no-columns"])
def test_a_forged_card_or_recipe_is_one_line_and_exit_2(bundles, tmp_path, forge, message):
    folder = copy_bundle(bundles["iris"], tmp_path / "b")
    forge(folder)
    (tmp_path / "in.csv").write_text(",".join(IRIS_ROW) + "\n" +
                                     ",".join(map(str, IRIS_ROW.values())) + "\n")
    for done in (honed("predict", folder, tmp_path / "in.csv", "--out", tmp_path / "p.csv"),
                 honed("serve", folder, "--port", "0")):
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "listening" not in done.stdout
    assert not (tmp_path / "p.csv").exists()
