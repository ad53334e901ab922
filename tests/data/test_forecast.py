"""Forecasting windows: time order, no leakage, train-segment statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from honed.data import apply_preprocess, load_source, prepare_data, prepare_folds
from honed.errors import DataError

from .conftest import spec


@pytest.fixture
def series_csv(tmp_path):
    steps = np.arange(300)
    frame = pd.DataFrame({"day": steps, "temp": 10 + 0.05 * steps + np.sin(steps / 5),
                          "wind": np.cos(steps / 7)})
    frame.loc[[20, 21, 150], "temp"] = np.nan
    path = tmp_path / "s.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_windows_in_time_order_without_leakage(series_csv):
    path, _ = series_csv
    data_spec = spec(path, target="temp", task="forecasting",
                     window={"lookback": 10, "horizon": 3}, split={"val": 0.2, "test": 0.2})
    data = prepare_data(data_spec, seed=0)
    assert data.task == "forecasting" and data.kind == "sequence"
    assert data.input_shape == (10, 1) and data.num_outputs == 3
    assert data.train.y.shape == (len(data.train), 3)
    train, val, test = data.train.index, data.val.index, data.test.index
    # time order: every train target comes before every val target, val before test
    assert train.max() + 3 <= val.min() and val.max() + 3 <= test.min()
    assert np.all(np.diff(train) == 1) and train.min() == 10
    assert (train[-1] + 3 == 180) and val.min() == 180 and test.min() == 240
    assert test.max() == 300 - 3


def test_windows_match_the_series_and_scale_on_train(series_csv):
    path, frame = series_csv
    data_spec = spec(path, target="temp", task="forecasting",
                     window={"lookback": 10, "horizon": 3}, split={"val": 0.2, "test": 0.2})
    data = prepare_data(data_spec, seed=0)
    series = load_source(data_spec).x["temp"].to_numpy()
    assert not np.isnan(series).any()
    assert series[20] == pytest.approx(series[19] + (series[22] - series[19]) / 3)  # linear fill
    train_segment = series[:180]
    mean, std = train_segment.mean(), train_segment.std()
    assert data.preprocess["scaler"]["center"] == pytest.approx([mean])
    assert data.target_scale == (pytest.approx([mean] * 3), pytest.approx([std] * 3))
    start = int(data.test.index[4])
    np.testing.assert_allclose(data.test.x[4, :, 0], (series[start - 10:start] - mean) / std,
                               rtol=1e-5)
    np.testing.assert_allclose(data.test.y[4], (series[start:start + 3] - mean) / std, rtol=1e-5)
    # apply_preprocess on the raw windows reproduces the inputs exactly
    raw_windows = np.stack([series[t - 10:t] for t in data.test.index])
    np.testing.assert_array_equal(apply_preprocess(data.preprocess, raw_windows), data.test.x)


def test_multichannel_series(series_csv):
    path, _ = series_csv
    data = prepare_data(spec(path, target="temp", features=["wind"], task="forecasting",
                             window={"lookback": 5, "horizon": 2}), seed=0)
    assert data.input_shape == (5, 2) and data.feature_names == ["temp", "wind"]
    assert data.preprocess["window"]["columns"] == ["temp", "wind"]


def test_builtin_co2_forecast_and_limit():
    data = prepare_data(spec("builtin:co2", window={"lookback": 52, "horizon": 4}, limit=500),
                        seed=0)
    total = len(data.train) + len(data.val) + len(data.test)
    assert total <= 500
    assert data.test.index.max() == 2284 - 4  # the most recent windows are kept


def test_forecast_folds_roll_forward(series_csv):
    path, _ = series_csv
    data_spec = spec(path, target="temp", task="forecasting",
                     window={"lookback": 10, "horizon": 1}, split={"val": 0.2, "test": 0.2})
    whole = prepare_data(data_spec, seed=0)
    folds = prepare_folds(data_spec, seed=0, k=3)
    ends = []
    for fold in folds:
        np.testing.assert_array_equal(fold.test.index, whole.test.index)
        assert fold.train.index.max() < fold.val.index.min()
        assert fold.val.index.max() < fold.test.index.min()
        ends.append(fold.train.index.max())
    assert ends == sorted(ends) and len(set(ends)) == 3


def test_forecast_needs_a_target(series_csv):
    path, _ = series_csv
    with pytest.raises(DataError, match="set data.target to the column to forecast"):
        prepare_data(spec(path, task="forecasting"), seed=0)
    with pytest.raises(DataError, match="no column 'nope' \\(data.target\\)"):
        prepare_data(spec(path, task="forecasting", target="nope"), seed=0)


def test_prewindowed_npz_splits_in_order(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "w.npz", x=rng.normal(size=(50, 6, 1)), y=rng.normal(size=(50, 2)))
    data = prepare_data(spec(tmp_path / "w.npz", task="forecasting"), seed=0)
    assert data.task == "forecasting" and data.num_outputs == 2
    assert data.train.index.tolist() == list(range(34))
    assert data.test.index.tolist() == list(range(42, 50))
