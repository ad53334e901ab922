"""Scalers are fitted on the training split only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from honed.data import prepare_data
from honed.data.scaling import apply_scaler, fit_scaler

from .conftest import spec


@pytest.fixture
def shifted_csv(tmp_path):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(5.0, 2.0, 300), "b": rng.uniform(-1, 3, 300),
                          "y": np.arange(300) % 3})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_standard_scaling_uses_train_statistics(shifted_csv):
    path, frame = shifted_csv
    data = prepare_data(spec(path, target="y", clean={"clip": "none"}), seed=0)
    raw_train = frame[["a", "b"]].to_numpy()[data.train.index]
    np.testing.assert_allclose(data.preprocess["scaler"]["center"], raw_train.mean(axis=0))
    np.testing.assert_allclose(data.preprocess["scaler"]["scale"], raw_train.std(axis=0))
    np.testing.assert_allclose(data.train.x.mean(axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(data.train.x.std(axis=0), 1.0, atol=1e-5)
    # the held-out splits are scaled with the same numbers, so their moments differ
    assert np.abs(data.test.x.mean(axis=0)).max() > 1e-3
    raw_test = frame[["a", "b"]].to_numpy()[data.test.index]
    expected = (raw_test - raw_train.mean(axis=0)) / raw_train.std(axis=0)
    np.testing.assert_allclose(data.test.x, expected, rtol=1e-5)


def test_minmax_and_none(shifted_csv):
    path, frame = shifted_csv
    data = prepare_data(spec(path, target="y", scale="minmax", clean={"clip": "none"}), seed=0)
    np.testing.assert_allclose(data.train.x.min(axis=0), 0.0, atol=1e-7)
    np.testing.assert_allclose(data.train.x.max(axis=0), 1.0, atol=1e-6)
    plain = prepare_data(spec(path, target="y", scale="none", clean={"clip": "none"}), seed=0)
    np.testing.assert_allclose(plain.train.x, frame[["a", "b"]].to_numpy()[plain.train.index],
                               rtol=1e-6)
    assert plain.preprocess["scaler"] == {"method": "none"}


def test_constant_column_maps_to_zero():
    scaler = fit_scaler("standard", np.array([[1.0, 2.0], [1.0, 4.0]]))
    assert scaler["scale"][0] == 1.0
    assert apply_scaler(scaler, np.array([[1.0, 3.0]])).tolist() == [[0.0, 0.0]]


def test_image_scaling_per_channel_on_train_only():
    data = prepare_data(spec("builtin:digits"), seed=0)
    center = data.preprocess["scaler"]["center"]
    assert len(center) == 1 and data.preprocess["pixel_scale"] == 16.0
    assert abs(float(data.train.x.mean())) < 1e-5 and abs(float(data.train.x.std()) - 1) < 1e-4


def test_regression_target_scaled_on_train(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=80), "y": rng.normal(1000, 50, 80)})
    frame.to_csv(tmp_path / "t.csv", index=False)
    data = prepare_data(spec(tmp_path / "t.csv", target="y"), seed=0)
    raw = frame["y"].to_numpy()
    mean, std = data.target_scale
    assert mean == pytest.approx([raw[data.train.index].mean()])
    np.testing.assert_allclose(data.test.y[:, 0], (raw[data.test.index] - mean[0]) / std[0],
                               rtol=1e-5)
    unscaled = prepare_data(spec(tmp_path / "t.csv", target="y", scale_target=False), seed=0)
    assert unscaled.target_scale is None
    np.testing.assert_allclose(unscaled.test.y[:, 0], raw[unscaled.test.index], rtol=1e-6)
