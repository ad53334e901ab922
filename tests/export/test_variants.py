"""``export_bundle(run, variant=NAME)`` on a hand-made ``compress/`` folder that follows the
contract of ``honed.compress.variants``: a torch variant is exported and checked like the base
model; an int8 ONNX variant is copied and checked for agreement with the base model."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from honed.errors import UserInputError
from honed.export import export_bundle, read_bundle
from honed.io import atomic_write_json
from honed.stages.export import chosen_variant

from .conftest import copy_of, tree


def _row(name: str, kind: str) -> dict:
    return {"name": name, "kind": kind, "method": "test", "settings": {},
            "val": {"accuracy": 0.95}, "test": {"accuracy": 0.9}, "drop": 0.0, "se": 0.0,
            "test_drop": 0.0, "parameters": 123, "size_bytes": 1,
            "macs": None, "latency_ms": {"batch1": 0.01, "batch64": 0.1},
            "runtime": "onnxruntime", "within_budget": True, "kept": True, "note": ""}


@pytest.fixture(scope="module")
def compressed_run(bundled_run, tmp_path_factory):
    """The run with two kept variants: ``halved`` (torch) and ``int8`` (ONNX, dynamic int8)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from honed.models import load_model, read_model_json, save_model

    run = tmp_path_factory.mktemp("compressed") / "run"
    shutil.copytree(bundled_run, run)
    shutil.rmtree(run / "bundle")
    compress = run / "compress"
    model, record = load_model(run / "model"), read_model_json(run / "model")
    with torch.no_grad():  # a stand-in for a pruned model: same architecture, other weights
        for parameter in model.parameters():
            parameter.mul_(0.5)
    save_model(model, compress / "halved" / "model", family=record["family"],
               knobs=record["knobs"], input_shape=record["input_shape"],
               num_outputs=record["num_outputs"], task=record["task"])
    shutil.copy(run / "model" / "preprocess.json", compress / "halved" / "model")
    (compress / "int8").mkdir()
    prepared = tmp_path_factory.mktemp("quantize") / "prepared.onnx"
    quant_pre_process(str(bundled_run / "bundle" / "model.onnx"), str(prepared))
    quantize_dynamic(str(prepared), str(compress / "int8" / "model.onnx"),
                     weight_type=QuantType.QInt8)
    for name in ("model.json", "preprocess.json"):
        shutil.copy(run / "model" / name, compress / "int8" / name)
    atomic_write_json(compress / "compress.json", {
        "format": "honed.compress", "version": 2, "model": None, "metric": "accuracy",
        "budget": None, "threads": 1, "baseline": {}, "chosen": "int8",
        "variants": [_row("halved", "torch"), _row("int8", "onnx"),
                     {**_row("dropped", "torch"), "kept": False}]})
    return run


def test_a_torch_variant_is_exported_and_matches(compressed_run, tmp_path):
    run = copy_of(compressed_run, tmp_path)
    card = read_bundle(export_bundle(run, variant="halved")).card
    assert card["variant"] == "halved" and card["exporter"] == "dynamo"
    assert card["verification"]["method"] == "parity"
    assert max(card["verification"]["max_abs_diff"].values()) <= 1e-4
    assert card["metrics"] == {"val": {"accuracy": 0.95}, "test": {"accuracy": 0.9}}


def test_a_version_1_table_still_exports_by_name_but_its_choice_is_not_shipped(
        compressed_run, tmp_path):
    # version 1 chose on the test split and its rows held no val metrics
    run = copy_of(compressed_run, tmp_path)
    path = run / "compress/compress.json"
    table = json.loads(path.read_text())
    old = [{k: v for k, v in row.items() if k not in ("val", "se", "test_drop")}
           for row in table["variants"]]
    path.write_text(json.dumps({**table, "version": 1, "variants": old}))
    assert chosen_variant(run, None) is None
    card = read_bundle(export_bundle(run, variant="halved")).card
    assert card["variant"] == "halved" and card["metrics"] == {"val": None,
                                                               "test": {"accuracy": 0.9}}
    path.write_text(json.dumps({**table, "version": 3}))
    with pytest.raises(UserInputError, match="has version 3; this honed reads versions 1 to 2"):
        export_bundle(run, variant="halved")


def test_an_int8_variant_is_copied_and_checked_for_agreement(compressed_run, tmp_path):
    run = copy_of(compressed_run, tmp_path)
    bundle = read_bundle(export_bundle(run, variant="int8"))
    card = bundle.card
    assert bundle.model_path.read_bytes() == (run / "compress/int8/model.onnx").read_bytes()
    assert card["variant"] == "int8" and card["exporter"] == "compress"
    assert card["copied_from"] == "compress/int8/model.onnx" and card["parameters"] == 123
    check = card["verification"]
    assert check["method"] == "agreement" and check["checker"] == "passed"
    assert check["batches"] == [1, 22] and len(check["checked"]) == 3
    assert 0.8 <= check["class_agreement"] <= 1.0


def test_an_unknown_variant_lists_the_valid_ones_and_writes_nothing(compressed_run, tmp_path):
    run = copy_of(compressed_run, tmp_path)
    before = tree(run)
    with pytest.raises(UserInputError, match="unknown variant 'dropped'.*halved, int8"):
        export_bundle(run, variant="dropped")
    shutil.rmtree(run / "compress")
    with pytest.raises(UserInputError, match="no compressed variants"):
        export_bundle(run, variant="halved")
    assert tree(run) == [p for p in before if not p.startswith("compress")]


def test_the_stage_exports_the_chosen_variant_of_the_current_model(compressed_run, tmp_path):
    from honed.pipeline import RunContext
    from honed.rundir import RunDir
    from honed.spec.template import load_spec
    from honed.stages import Export

    run = copy_of(compressed_run, tmp_path)
    assert chosen_variant(run, None) == "int8"  # compress.json of this model (no fingerprint)
    assert chosen_variant(run, "another-model") is None  # compress.json of an older model
    spec = run / "spec.yaml"
    spec.write_text(spec.read_text() + "export: {}\n")
    context, stage = RunContext(load_spec(spec), RunDir(run)), Export()
    assert stage.enabled(context) and not stage.done(context)
    stage.run(context)
    assert read_bundle(run).card["variant"] == "int8" and stage.done(context)
    # compress now chose nothing: the bundle of the variant is stale, the base model is exported
    table = json.loads((run / "compress/compress.json").read_text())
    (run / "compress/compress.json").write_text(json.dumps({**table, "chosen": None}))
    assert chosen_variant(run, None) is None and not stage.done(context)
    stage.run(context)
    assert read_bundle(run).card["variant"] == "base" and stage.done(context)
