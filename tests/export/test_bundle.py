"""``export_bundle`` and ``read_bundle``: contents, hashes, verification, and every kind of bad
bundle or run dir refused with one BundleError / UserInputError and nothing written."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
import textwrap

import numpy as np
import onnx
import pytest

from honed.errors import BundleError, ExportError, UserInputError
from honed.export import export_bundle, ort_session, read_bundle, run_session
from honed.export.card import file_sha256
from honed.spec.validate import validate_point

from .conftest import BRANCHY, SPEC, copy_of, tree

SPEC_CSV = {**SPEC, "train": {"epochs": 1, "batch_size": 16}}


def test_bundle_holds_model_preprocessing_and_card(bundled_run, trained_run):
    bundle = read_bundle(bundled_run / "bundle")
    card = bundle.card
    assert sorted(card["files"]) == ["model.onnx", "preprocess.json",
                                     "triton/iris-mlp/1/model.onnx",
                                     "triton/iris-mlp/config.pbtxt"]
    for name, digest in card["files"].items():
        assert file_sha256(bundle.root / name) == digest
    # preprocess.json is the run's, byte for byte
    assert (bundle.root / "preprocess.json").read_bytes() == (
        trained_run / "model" / "preprocess.json").read_bytes()
    assert bundle.task == "classification" and bundle.input_shape == (4,)
    assert bundle.num_outputs == 3 and bundle.class_names == ["setosa", "versicolor", "virginica"]
    assert card["variant"] == "base" and card["exporter"] == "dynamo" and card["opset"] >= 18
    assert card["input"] == {"name": "input", "shape": [4], "dtype": "float32",
                             "dynamic_axes": ["batch"]}
    assert card["output"] == {"name": "output", "shape": [3], "kind": "logits"}
    assert card["parameters"] == json.loads((trained_run / "model" / "model.json").read_text()
                                            )["parameters"]
    assert card["metrics"]["test"]["accuracy"] == json.loads(
        (trained_run / "metrics.json").read_text())["test"]["accuracy"]
    assert card["spec"]["name"] == "iris-mlp" and card["spec"]["model"]["family"] == "mlp"
    assert set(card["versions"]) == {"honed", "torch", "onnx", "onnxruntime", "python"}
    assert card["model"] is None  # honed train keeps no refit fingerprint
    check = card["verification"]
    assert check["method"] == "parity" and check["checker"] == "passed" and check["passed"]
    assert check["batches"] == [1, 22] and check["tolerance"] == 1e-4
    assert max(check["max_abs_diff"].values()) <= 1e-4
    assert check["samples"] == "test split (22 samples)"
    # the bundle's model serves any batch size
    session = ort_session(bundle.model_path)
    assert run_session(session, np.zeros((5, 4))).shape == (5, 3)
    # nothing else is left in the run dir
    assert not [p for p in bundled_run.iterdir() if p.name.startswith(".")]


def test_read_bundle_takes_a_run_dir(bundled_run, trained_run):
    assert read_bundle(bundled_run).root == bundled_run / "bundle"
    with pytest.raises(BundleError, match="run dir without a bundle; run honed export"):
        read_bundle(trained_run)


def test_a_new_export_replaces_the_old_bundle(bundled_run, tmp_path):
    run = copy_of(bundled_run, tmp_path)
    stale = run / "bundle" / "stale.txt"
    stale.write_text("from an older export")
    export_bundle(run)
    assert not stale.exists() and not (run / "bundle" / "triton").exists()
    assert read_bundle(run).card["formats"] == ["onnx"]
    assert sorted(p.name for p in run.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(("damage", "message"), [
    (lambda b: (b / "preprocess.json").write_text("{}"), "does not match the sha256"),
    (lambda b: (b / "triton/iris-mlp/config.pbtxt").write_text("max_batch_size: 9"),
     "does not match the sha256"),
    (lambda b: (b / "model.onnx").unlink(), "model.onnx is missing"),
    (lambda b: (b / "card.json").write_text("{not json"), "not valid JSON"),
    (lambda b: _edit_card(b, format="other"), "not a honed card"),
    (lambda b: _edit_card(b, version=3), "card version 3"),
    (lambda b: _edit_card(b, seal=False, task="regression"), "does not match its own "
     "card_sha256"),
    (lambda b: _edit_card(b, version=1, card_sha256=None), "card_sha256 .* older honed"),
    (lambda b: _edit_card(b, task="regression"), "output.kind must be 'values'"),
    (lambda b: _edit_card(b, task="ranking"), "task must be one of"),
    (lambda b: _edit_card(b, class_names=["a", "b"]), "one name per output"),
    (lambda b: _edit_card(b, input={"shape": [5]}), r"input_shape \[4\] differs"),
    (lambda b: _edit_card(b, task="regression", class_names=None,
                          output={"shape": [3], "kind": "values"}),
     "is for a 'classification' model; card.json says 'regression'"),
    (lambda b: _edit_preprocess(b, columns=None), "must list its input 'columns'"),
    (lambda b: _edit_preprocess(b, columns=[{"name": "x"}]), r"columns\[0\] must have"),
    (lambda b: _edit_preprocess(b, format="other"), "not a honed preprocessing recipe"),
    (lambda b: _edit_card(b, files={"model.onnx": "0" * 64}), "no sha256 for preprocess.json"),
    (lambda b: _edit_card(b, files=_files(b, **{"../metrics.json": "0" * 64})),
     "outside the bundle"),
], ids=["edited-preprocess", "edited-triton-config", "missing-model", "card-not-json",
        "card-format", "card-version", "card-edited", "card-unsealed", "task-vs-output-kind",
        "unknown-task", "class-count", "card-vs-preprocess-shape", "card-vs-preprocess-task",
        "preprocess-no-columns", "preprocess-bad-column", "preprocess-format",
        "unlisted-preprocess", "listed-path-outside"])
def test_a_damaged_bundle_is_refused(bundled_run, tmp_path, damage, message):
    bundle = copy_of(bundled_run / "bundle", tmp_path)
    damage(bundle)
    with pytest.raises(BundleError, match=message):
        read_bundle(bundle)


def _edit_card(bundle, seal=True, **changes):
    """Change card.json; ``seal`` records its new sha256, as a deliberate editor would."""
    from honed.export.card import card_sha256

    card = {**json.loads((bundle / "card.json").read_text()), **changes}
    card = {key: value for key, value in card.items() if value is not None or key not in (
        "card_sha256",)}
    if seal and "card_sha256" in card:
        card["card_sha256"] = card_sha256(card)
    (bundle / "card.json").write_text(json.dumps(card))


def _edit_preprocess(bundle, **changes):
    """Change preprocess.json and record its new sha256 in a sealed card."""
    path = bundle / "preprocess.json"
    recipe = {**json.loads(path.read_text()), **changes}
    path.write_text(json.dumps({k: v for k, v in recipe.items() if v is not None}))
    _rehash(bundle)


def _files(bundle, **extra):
    return {**json.loads((bundle / "card.json").read_text())["files"], **extra}


def _rehash(bundle):
    """Record the current files in card.json, as someone who edits a bundle on purpose would."""
    from honed.export.card import hash_files

    _edit_card(bundle, files=hash_files(bundle))


def test_a_truncated_model_is_refused_even_with_matching_hashes(bundled_run, tmp_path):
    bundle = copy_of(bundled_run / "bundle", tmp_path)
    model = bundle / "model.onnx"
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 3])
    _rehash(bundle)
    with pytest.raises(BundleError, match="model.onnx is not a readable ONNX model"):
        read_bundle(bundle)


@pytest.mark.parametrize("location", ["../outside.bin", "/etc/passwd", "sub/../../x.bin"])
def test_external_data_outside_the_bundle_is_refused(bundled_run, tmp_path, location):
    bundle = copy_of(bundled_run / "bundle", tmp_path)
    (tmp_path / "outside.bin").write_bytes(b"\0" * 1024)
    proto = onnx.load(str(bundle / "model.onnx"))
    tensor = proto.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value=location)
    onnx.save(proto, str(bundle / "model.onnx"))
    _rehash(bundle)
    with pytest.raises(BundleError, match="outside the bundle"):
        read_bundle(bundle)


def test_a_run_dir_without_a_model_is_refused_before_any_write(trained_run, tmp_path):
    run = copy_of(trained_run, tmp_path)
    shutil.rmtree(run / "model")
    before = tree(run)
    with pytest.raises(UserInputError, match="holds no trained model"):
        export_bundle(run)
    with pytest.raises(UserInputError, match="is not a folder"):
        export_bundle(tmp_path / "nowhere")
    with pytest.raises(UserInputError, match="unknown export format 'tflite'"):
        export_bundle(trained_run, formats=("tflite",))
    with pytest.raises(UserInputError, match="opset must be between 13 and 23; got 5"):
        export_bundle(run, opset=5)
    assert tree(run) == before


def test_a_model_that_fails_verification_writes_nothing(trained_run, tmp_path, monkeypatch):
    from honed.models import load_model, read_model_json, save_model

    (tmp_path / "branchy_family.py").write_text(textwrap.dedent(BRANCHY))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HONED_ALLOW_IMPORT", "branchy_family")  # model.json names it
    run = copy_of(trained_run, tmp_path)
    record = read_model_json(run / "model")
    import branchy_family

    model = branchy_family.build((4,), 3)
    save_model(model, run / "model", family="branchy_family:build", knobs={},
               input_shape=(4,), num_outputs=3, task=record["task"])
    assert load_model(run / "model") is not None
    before = tree(run)
    with pytest.raises(ExportError, match=r"differs from eager PyTorch by .* on a batch of \d+ "
                       r"\(allowed: .*\); the export is not written"):
        export_bundle(run)
    assert tree(run) == before
    sys.modules.pop("branchy_family", None)


def test_a_bundle_names_no_local_path_and_its_folder_follows_the_umask(tmp_path):
    from sklearn.datasets import load_iris

    from honed.train.session import train_spec

    data = tmp_path / "data"
    data.mkdir()
    load_iris(as_frame=True).frame.to_csv(data / "iris.csv", index=False)
    spec = {**SPEC_CSV, "data": {"source": str(data / "iris.csv"), "target": "target"}}
    run = tmp_path / "run"
    train_spec(validate_point(spec), out_dir=run, progress=False)
    folder = export_bundle(run)
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~mask  # as a plain mkdir makes it
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o666 & ~mask}
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix == ".json":
            assert str(tmp_path) not in path.read_text(), path.name
    bundle = read_bundle(folder)
    assert bundle.preprocess["source"] == "iris.csv"
    assert bundle.card["spec"]["data"]["source"] == "iris.csv"
    assert bundle.preprocess["columns"][0]["name"] == "sepal length (cm)"
