"""Forecasting: a time series cut into windows of ``lookback`` inputs and ``horizon`` targets.

The series is split in time order (train segment first, then val, then test). A window belongs
to the split that holds its first target step; a window whose later targets would run into the
next segment is left out, so no value of a later split is ever a training target. Inputs may
reach back into earlier segments: that past is known when forecasting. The scaler and the target
scale are fitted on the train segment only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from honed.errors import DataError

from .dataset import PreparedData, Split
from .raw import RawData
from .scaling import fit_scaler
from .split import split_sizes
from .tables import column_values, read_frame
from .targets import fit_target_scale
from .transform import apply_preprocess

__all__ = ["read_series", "series_raw", "prepare_forecast", "forecast_windows"]


def read_series(path: Path, *, target: str | None, features: list[str] | None) -> RawData:
    """Read a table as a time series: the ``target`` column first, then ``features``."""
    return series_raw(read_frame(path), origin=str(path), target=target, features=features)


def series_raw(frame: pd.DataFrame, *, origin: str, target: str | None,
               features: list[str] | None) -> RawData:
    """Check numeric columns, fill gaps by linear interpolation, and wrap as a series."""
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    listed = ", ".join(frame.columns)
    if len(frame) == 0:
        raise DataError(f"{origin} has no data rows")
    if target is None:
        raise DataError(f"{origin}: set data.target to the column to forecast; columns: {listed}")
    names = [target] + [c for c in (features or []) if c != target]
    for name in names:
        if name not in frame.columns:
            key = "data.target" if name == target else "data.features"
            raise DataError(f"{origin} has no column '{name}' ({key}); columns: {listed}")
    series = {}
    for name in names:
        values = column_values(frame[name], origin=origin, name=name)
        if values.dtype == object:
            raise DataError(f"{origin}: column '{name}' holds text; forecasting needs numbers")
        if values.isna().all():
            raise DataError(f"{origin}: column '{name}' has no values")
        # gaps in a series are bridged by a straight line, ends by the nearest value
        series[name] = values.interpolate(method="linear", limit_direction="both").to_numpy()
    return RawData(x=pd.DataFrame(series), y=None, kind="series", task="forecasting",
                   target=target, origin=origin,
                   extra={"dtypes": {n: str(frame[n].dtype) for n in names}})


def forecast_windows(values: np.ndarray, starts: np.ndarray, lookback: int, horizon: int,
                     target: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw windows ``(N, lookback, C)`` before each start and targets ``(N, horizon)`` from it."""
    inputs = values[starts[:, None] + np.arange(-lookback, 0)[None, :]]
    targets = values[starts[:, None] + np.arange(horizon)[None, :], target]
    return inputs, targets


def prepare_forecast(raw: RawData, *, lookback: int, horizon: int, val: float, test: float,
                     scale: str, scale_target: bool, limit: int | None = None,
                     bounds: tuple[int, int] | None = None, source: str = "") -> PreparedData:
    """Windows split in time order, scaled with statistics of the train segment.

    Args:
        raw: A ``series`` :class:`RawData`.
        lookback: Input steps per window.
        horizon: Target steps per window.
        val: Fraction of the series for validation.
        test: Fraction of the series for test (the end of the series).
        scale: Input scaling, per channel.
        scale_target: Standardize the targets with the train segment's mean and std.
        limit: Keep only the most recent windows, at most this many.
        bounds: ``(train_end, val_end)`` positions overriding the fractions (used by k-fold);
            test still starts where the fractions put it.
        source: The spec's source string, recorded in the preprocess dict.

    Raises:
        DataError: The series is too short for the windows and the split.
    """
    columns = list(raw.x.columns)
    values = raw.x.to_numpy(dtype=np.float64)
    offset = 0
    if limit is not None and len(values) > limit + lookback + horizon - 1:
        offset = len(values) - (limit + lookback + horizon - 1)
        values = values[offset:]
    n = len(values)
    _, n_val, n_test = split_sizes(n, val, test)
    train_end, val_end = n - n_val - n_test, n - n_test
    test_start = val_end
    if bounds is not None:
        train_end, val_end = bounds[0] - offset, bounds[1] - offset
    starts = {
        "train": np.arange(lookback, train_end - horizon + 1),
        "val": np.arange(max(train_end, lookback), val_end - horizon + 1),
        "test": np.arange(max(test_start, lookback), n - horizon + 1),
    }
    for name, fraction in (("train", 1.0), ("val", val), ("test", test)):
        if fraction > 0 and starts[name].size < (2 if name == "train" else 1):
            raise DataError(f"{raw.origin}: too few time steps for the split: {n} steps with "
                            f"lookback {lookback} and horizon {horizon} leave no {name} windows")
    target = columns.index(raw.target)
    scaler = fit_scaler(scale, values[:train_end], axis=-1)
    target_scale = None
    if scale_target:
        fitted = fit_target_scale(values[:train_end, target][:, None])
        target_scale = {"mean": fitted["mean"] * horizon, "std": fitted["std"] * horizon}
    preprocess = {
        "format": "honed.preprocess", "version": 1, "source": source,
        "kind": "sequence", "task": "forecasting", "input_shape": [lookback, len(columns)],
        "target": raw.target, "class_names": None, "feature_names": columns,
        "target_scale": target_scale, "pixel_scale": 1.0, "scaler": scaler,
        "window": {"lookback": lookback, "horizon": horizon, "columns": columns,
                   "target": raw.target, "gaps": "linear interpolation"},
    }
    splits = {}
    for name, start in starts.items():
        inputs, targets = forecast_windows(values, start, lookback, horizon, target)
        if target_scale is not None:
            targets = (targets - np.asarray(target_scale["mean"])) / np.asarray(target_scale["std"])
        splits[name] = Split(apply_preprocess(preprocess, inputs), targets.astype(np.float32),
                             index=start + offset)
    return PreparedData(
        train=splits["train"], val=splits["val"], test=splits["test"], task="forecasting",
        kind="sequence", input_shape=(lookback, len(columns)), num_outputs=horizon,
        feature_names=columns,
        target_scale=(target_scale["mean"], target_scale["std"]) if target_scale else None,
        preprocess=preprocess, source=source)
