"""honed.Model: a DataFrame or arrays in, a fitted model out, the same as the run dir tools."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import honed
from honed.errors import SpecError, UserInputError

TINY = {"epochs": 2, "hidden": 8, "threads": 1, "probes": False}


def frame(n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    out = pd.DataFrame({"size": rng.normal(size=n), "count": rng.integers(0, 9, n),
                        "colour": rng.choice(["red", "green", "blue"], n)})
    out["label"] = np.where((out["size"] > 0) | (out["colour"] == "red"), "big", "small")
    return out


@pytest.fixture(scope="module")
def fitted():
    return honed.Model("mlp", **TINY, **{"train.optimizer.lr": 0.01}).fit(frame(), target="label")


def test_a_fitted_frame_predicts_class_names_and_probabilities(fitted):
    rows = frame().head(7)
    assert fitted.classes == ["big", "small"]
    labels, probs = fitted.predict(rows), fitted.predict_proba(rows)
    assert labels.shape == (7,) and set(labels) <= {"big", "small"}
    assert probs.shape == (7, 2) and np.allclose(probs.sum(axis=1), 1.0)
    assert list(labels) == [fitted.classes[i] for i in probs.argmax(axis=1)]
    assert fitted.metrics["threads"] == 1 and "val" in fitted.metrics


def test_save_writes_a_run_dir_that_honed_evaluate_and_load_read(fitted, tmp_path):
    saved = fitted.save(tmp_path / "saved")
    proc = subprocess.run([sys.executable, "-m", "honed.cli.main", "evaluate", str(saved),
                           "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == fitted.evaluate()
    again = honed.Model.load(saved)
    rows = frame().tail(9)
    assert np.array_equal(again.predict_proba(rows), fitted.predict_proba(rows))
    with pytest.raises(UserInputError, match="not empty"):
        fitted.save(saved)


def test_the_exported_bundle_predicts_what_predict_does(fitted, tmp_path):
    from honed.serve import load_runtime

    saved = honed.Model.load(fitted.save(tmp_path / "saved"))  # from the saved copy's data
    bundle = saved.export()
    assert bundle == tmp_path / "saved" / "bundle"
    rows = frame().head(20)
    served = load_runtime(bundle, threads=1).predict(rows)
    assert np.allclose(served.probabilities, fitted.predict_proba(rows), atol=1e-5)
    assert served.labels == list(fitted.predict(rows))


def test_arrays_fit_a_regression_with_spec_keys(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 3.0
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model = honed.Model(family="mlp", train={"epochs": 2, "threads": 1, "probes": False},
                            hidden=8).fit(x, y, out_dir=tmp_path / "run")
        assert torch.get_num_threads() == 2  # the caller's torch keeps its own count
    finally:
        torch.set_num_threads(before)
    assert model.metrics["threads"] == 1
    assert (tmp_path / "run" / "data.npz").is_file()
    assert model.predict(x[:5]).shape == (5,)
    assert {"r2", "mae"} <= set(model.evaluate("val"))
    with pytest.raises(UserInputError, match="predict_proba is for classification"):
        model.predict_proba(x[:5])


def test_a_dataframe_is_a_data_source_in_a_spec():
    from honed.data import prepare_data

    spec = honed.spec_from_dict({"data": {"source": frame(), "target": "label"},
                                 "model": {"family": "mlp"}}).default
    assert spec.data.source.startswith("memory:")
    data = prepare_data(spec.data, seed=0)
    assert data.class_names == ["big", "small"] and data.feature_names[:2] == ["size", "count"]
    again = honed.spec_from_dict({"data": {"source": frame(), "target": "label"},
                                  "model": {"family": "mlp"}}).default
    assert again.data.source == spec.data.source  # the same data, the same spec


@pytest.mark.parametrize("source", [[1, 2, 3], {"x": [1]}, 3, (np.ones(3),)])
def test_other_objects_as_source_get_one_clear_line(source):
    with pytest.raises(SpecError) as error:
        honed.spec_from_dict({"data": {"source": source}, "model": {"family": "mlp"}})
    message = str(error.value)
    assert message.startswith("spec error: data.source: ") and "\n" not in message
    assert "pandas DataFrame or an (X, y) pair of arrays" in message


def test_bad_keys_and_calls_are_named():
    with pytest.raises(SpecError, match="epochz is not a field"):
        honed.Model("mlp", epochz=3)
    with pytest.raises(SpecError, match="train.epochs"):
        honed.Model("mlp", epochs=0).fit(frame(), target="label")
    with pytest.raises(UserInputError, match="has no column 'nope' \\(data.target\\)"):
        honed.Model("mlp", target="nope").fit(frame())  # a spec key, read as fit's target
    unfitted = honed.Model("mlp")
    assert repr(unfitted) == "honed.Model('mlp'), not fitted"
    with pytest.raises(UserInputError, match="not fitted yet"):
        unfitted.predict(frame())
    with pytest.raises(UserInputError, match="needs target=COLUMN"):
        honed.Model("mlp").fit(frame())
    with pytest.raises(UserInputError, match="another session"):
        from honed.data import prepare_data
        from honed.spec import DataSpec

        prepare_data(DataSpec(source="memory:0123456789abcdef"), seed=0)


def test_search_workers_cannot_see_data_in_memory(tmp_path):
    template = honed.spec_from_dict({"data": {"source": frame(), "target": "label"},
                                     "model": {"family": "mlp", "hidden": {"int": [4, 8]}}})
    with pytest.raises(UserInputError, match="cannot see data handed in from Python"):
        honed.tune(template, out_dir=tmp_path / "run", workers=2, trials=2, progress=False)
    assert not (tmp_path / "run").exists()


def test_text_trains_and_predicts_from_python():
    from tests.text_corpus import reviews

    data = reviews()
    model = honed.Model("embedbag", **{"data.text": ["review"], "train.epochs": 2,
                                       "train.threads": 1, "train.probes": False})
    model.fit(data, target="label")
    assert model.classes == ["neg", "pos"]
    probs = model.predict_proba(data.head(4))
    assert probs.shape == (4, 2) and np.allclose(probs.sum(axis=1), 1.0)
    assert list(model.predict(data.head(4))) == [model.classes[i] for i in probs.argmax(axis=1)]
