"""``explain_run`` end to end on real tiny runs of every input kind."""

from __future__ import annotations

import json

import numpy as np
import pytest

from honed.explain import explain_run, topk_recovery
from tests.explain.conftest import KNOWN


def test_table_importance_finds_the_known_columns_and_groups_one_hot(runs, tmp_path):
    result = explain_run(runs["known"], out=tmp_path / "out")
    importance = result.summary["importance"]
    names = [item["name"] for item in importance["importances"]]
    # the one-hot categorical is one feature, not one per category
    assert sorted(names) == ["a", "b", "colour", "const", "n1", "n2"]
    assert topk_recovery(names, KNOWN) == 1.0  # sanity check (a), permutation importance
    top = importance["importances"][0]
    assert top["low"] <= top["mean"] <= top["high"] and len(top["drops"]) == 3
    assert importance["metric"] == "accuracy" and set(top["per_class"]) == {"no", "yes"}
    # sanity check (a) again, for the local attributions: mean |IG| per column
    with np.load(tmp_path / "out" / "attributions.npz") as arrays:
        mean_abs = np.abs(arrays["grouped"]).mean(axis=0)
    ranked = [result.summary["groups"][i] for i in np.argsort(-mean_abs)]
    assert topk_recovery(ranked, KNOWN) == 1.0
    assert result.summary["method"] == "integrated_gradients"
    assert result.summary["baseline"] == "the average training row"
    sanity = result.summary["sanity"]
    assert sanity["completeness"]["passed"] and sanity["randomization"]["passed"]
    saved = json.loads((tmp_path / "out" / "importance.json").read_text())
    assert saved["importance"] == importance


@pytest.mark.parametrize("name, kinds, method", [
    ("digits", {"region"}, "occlusion"), ("sequence", {"time"}, "integrated_gradients")])
def test_images_and_sequences_are_explained_by_region_and_time(runs, tmp_path, name, kinds,
                                                                method):
    result = explain_run(runs[name], out=tmp_path)
    items = result.summary["importance"]["importances"]
    assert {item["kind"] for item in items} == kinds
    assert result.summary["method"] == method
    with np.load(tmp_path / "attributions.npz") as arrays:
        assert arrays["values"].shape == arrays["x"].shape
        assert len(arrays["x"]) >= 10  # a correct (and wrong, where there is one) per class
    page = (tmp_path / "explain.html").read_text()
    assert "plotly" in page and "<script src=" not in page  # inlined, no CDN


def test_every_method_attributes_every_row_of_an_input_file(runs, tmp_path):
    from honed.train.run_eval import load_run

    _, data, _ = load_run(runs["digits"])
    raw = np.random.default_rng(0).integers(0, 17, size=(3, 1, 8, 8)).astype(np.float64)
    np.savez(tmp_path / "three.npz", x=raw)
    for method in ("integrated_gradients", "saliency", "occlusion", "gradient_shap"):
        result = explain_run(runs["digits"], tmp_path / "three.npz", method=method,
                             out=tmp_path / method)
        rows = json.loads((tmp_path / method / "local.json").read_text())["rows"]
        assert [r["id"] for r in rows] == ["1", "2", "3"] and result.summary["inputs"] == 3
        assert len(rows[0]["attributions"]) == 16  # one per 2x2 region of the 8x8 image
    assert data.kind == "image"


def test_gradient_shap_records_the_training_rows_its_baselines_are_drawn_from(runs, tmp_path):
    import torch
    from captum.attr import GradientShap

    from honed.train.run_eval import load_run

    spec, data, model = load_run(runs["digits"])
    raw = np.random.default_rng(1).integers(0, 17, size=(2, 1, 8, 8)).astype(np.float64)
    np.savez(tmp_path / "two.npz", x=raw)
    summary = explain_run(runs["digits"], tmp_path / "two.npz", method="gradient_shap",
                          out=tmp_path / "out").summary
    rows = summary["baseline_rows"]
    assert len(rows) == len(set(rows)) == 32 and "training inputs" in summary["baseline"]
    assert "average" not in summary["baseline"]  # not the other methods' baseline
    # the recorded rows are the ones used: GradientShap drawing from exactly them (same seed)
    # gives the same attributions
    with np.load(tmp_path / "out" / "local.npz") as arrays:
        x, values, targets = arrays["x"], arrays["values"], arrays["explained"]
    model.eval()
    np.random.seed(spec.seed)  # captum draws from NumPy's global generator
    again = GradientShap(model).attribute(
        torch.as_tensor(x, dtype=torch.float32).requires_grad_(), target=torch.as_tensor(targets),
        baselines=torch.as_tensor(data.train.x[rows], dtype=torch.float32),
        n_samples=spec.explain.steps // 2)
    np.testing.assert_allclose(again.detach().numpy(), values, rtol=1e-4, atol=1e-6)
