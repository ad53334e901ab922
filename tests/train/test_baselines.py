"""Baselines beside every model: what each predicts, the verdict, the summary, the run files."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from honed.data.raw import RawData
from honed.data.timeseries import prepare_forecast
from honed.train.baselines import (
    MAX_ROWS,
    baselines_for,
    compare_with_baselines,
    run_baselines,
    summary_lines,
)
from honed.train.baselines.base import train_rows
from honed.train.metrics import regression_metrics
from tests.helpers import blobs, linear_regression


def _series(values: np.ndarray, *, lookback: int, horizon: int):
    raw = RawData(x=pd.DataFrame({"v": values}), y=None, kind="series", task="forecasting",
                  target="v", origin="test")
    return prepare_forecast(raw, lookback=lookback, horizon=horizon, val=0.2, test=0.2,
                            scale="standard", scale_target=True)


def _rows(report: dict) -> dict[str, dict]:
    return {row["name"]: row for row in report["rows"]}


def test_each_task_and_input_kind_gets_its_baselines():
    assert [b.name for b in baselines_for("classification", "table")] == ["majority", "logistic"]
    assert [b.name for b in baselines_for("classification", "image")] == ["majority", "logistic"]
    assert [b.name for b in baselines_for("regression", "table")] == ["mean", "ridge"]
    assert [b.name for b in baselines_for("forecasting", "sequence")] == [
        "mean", "ridge", "last_value", "seasonal_naive"]


def test_majority_predicts_the_most_frequent_training_class():
    data = blobs()
    rows = _rows(run_baselines(data))
    majority = np.bincount(data.train.y).argmax()
    for split in ("val", "test"):
        expected = float(np.mean(getattr(data, split).y == majority))
        assert rows["majority"][split]["accuracy"] == pytest.approx(expected)
        # the run's own metrics, loss included, for baselines as for models
        assert set(rows["majority"][split]) == {"loss", "accuracy", "precision", "recall", "f1"}
    # separable blobs: the linear model is far above the majority class
    assert rows["logistic"]["val"]["accuracy"] > 0.9 > rows["majority"]["val"]["accuracy"]


def test_regression_baselines_report_in_the_target_units():
    data = linear_regression()
    scale = ([10.0], [2.0])  # targets as a model sees them, and the units metrics are in
    rows = _rows(run_baselines(dataclasses.replace(data, target_scale=scale)))
    truth = data.val.y * 2.0 + 10.0
    mean = data.train.y.mean() * 2.0 + 10.0
    expected = regression_metrics(truth, np.full_like(truth, mean))
    assert rows["mean"]["val"]["mse"] == pytest.approx(expected["mse"], rel=1e-6)
    assert rows["ridge"]["val"]["r2"] > 0.9


def test_last_value_and_seasonal_naive_repeat_the_past():
    steps = np.arange(200)
    values = 100 + np.sin(2 * np.pi * steps / 4) * 5 + 0.01 * steps  # period 4, slow trend
    data = _series(values, lookback=6, horizon=3)
    rows = _rows(run_baselines(data, season=4))
    starts = data.val.index
    truth = values[starts[:, None] + np.arange(3)]
    last = np.repeat(values[starts - 1][:, None], 3, axis=1)
    seasonal = values[starts[:, None] + np.arange(3) - 4]  # each step one season earlier
    for name, forecast in (("last_value", last), ("seasonal_naive", seasonal)):
        expected = regression_metrics(truth, forecast)
        assert rows[name]["val"]["mse"] == pytest.approx(expected["mse"], rel=1e-5), name
    assert rows["seasonal_naive"]["val"]["r2"] > 0.99 > rows["last_value"]["val"]["r2"]


def test_seasonal_naive_is_skipped_without_a_usable_season():
    data = _series(np.arange(120, dtype=float), lookback=6, horizon=1)
    assert "no season is known" in _rows(run_baselines(data))["seasonal_naive"]["skipped"]
    skipped = _rows(run_baselines(data, season=12))["seasonal_naive"]["skipped"]
    assert "longer than the window" in skipped and "val" not in _rows(run_baselines(data))[
        "seasonal_naive"]


def test_fitting_is_capped_at_max_rows_with_a_fixed_sample():
    data = blobs(n=int((MAX_ROWS + 500) / 0.6))
    x, y = train_rows(data)
    assert len(x) == MAX_ROWS and len(y) == MAX_ROWS
    np.testing.assert_array_equal(train_rows(data)[0], x)  # the same sample every time


def _report(model_value: float, *, monitor: str = "val.r2") -> dict:
    baselines = {"rows": [{"name": "mean", "val": {"r2": 0.0, "mse": 9.0}},
                          {"name": "last_value", "val": {"r2": 0.9, "mse": 1.0},
                           "test": {"r2": 0.8, "mse": 2.0}},
                          {"name": "seasonal_naive", "skipped": "no season is known"}],
                 "cost": {"max_rows": 2000, "max_iter": 50, "seconds": 0.01}}
    model = {"val": {"r2": model_value, "mse": 10 * (1 - model_value)}}
    return compare_with_baselines(baselines, model, task="forecasting", monitor=monitor)


def test_a_model_worse_than_the_naive_forecast_is_flagged():
    report = _report(-0.26)
    assert report["beats_baseline"] is False and report["best"] == "last_value"
    assert report["compared_on"] == {"split": "val", "metric": "r2"}
    lines = summary_lines({"baselines": report})
    assert lines[-2:] == ["warning: the model does not beat the last_value baseline on val r2:",
                          "  the model -0.26, last_value 0.9"]
    assert any("seasonal_naive" in line and "skipped" in line for line in lines)
    assert all(len(line) <= 80 for line in lines)


def test_a_better_model_is_not_flagged_and_lower_is_better_for_losses():
    assert _report(0.95)["beats_baseline"] is True
    assert not any(line.startswith("warning") for line in summary_lines(
        {"baselines": _report(0.95)}))
    assert _report(0.9)["beats_baseline"] is False  # a tie does not beat the baseline
    # mse: the model's 0.5 is below last_value's 1.0, so it wins on the monitored metric
    by_mse = _report(0.95, monitor="val.mse")
    assert by_mse["compared_on"]["metric"] == "mse" and by_mse["beats_baseline"] is True


def test_a_monitor_the_baselines_lack_falls_back_to_the_headline_metric():
    report = _report(0.5, monitor="train.loss")
    assert report["compared_on"]["metric"] == "r2" and report["beats_baseline"] is False


def test_honed_train_writes_baselines_and_warns_when_the_naive_forecast_wins(tmp_path, capsys):
    from honed.cli.main import main

    spec = tmp_path / "co2.yaml"
    # one epoch of a tiny LSTM on CO2: far worse than repeating the last value (seen in the
    # field: a 10-epoch LSTM at R2 -0.26)
    spec.write_text("name: co2\ndata: {source: 'builtin:co2', limit: 300,\n"
                    "       window: {lookback: 52, season: 52}}\n"
                    "model: {family: lstm, hidden: 4}\n"
                    "train: {epochs: 1, threads: 1, monitor: val.r2}\n")
    run = tmp_path / "run"
    assert main(["train", str(spec), "--out", str(run), "--quiet"]) == 0
    out = capsys.readouterr().out
    metrics = json.loads((run / "metrics.json").read_text())
    report = metrics["baselines"]
    assert [row["name"] for row in report["rows"]] == ["mean", "ridge", "last_value",
                                                       "seasonal_naive"]
    assert report["compared_on"] == {"split": "val", "metric": "r2"}
    assert report["model_value"] == pytest.approx(metrics["val"]["r2"])
    assert report["beats_baseline"] is False
    assert all("val" in row and "test" in row for row in report["rows"])
    assert "baselines on val r2" in out
    assert f"warning: the model does not beat the {report['best']} baseline" in out
