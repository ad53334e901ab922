"""Forecasting baselines that repeat the past: the last value and the seasonal naive forecast.

Both read the target's own past out of each input window (undoing the input scaling) and put
the forecast into the model's target units, so they score exactly as a model's outputs do.
They need windows cut by honed from a series (``preprocess["window"]``); windows handed in as
an ``.npz`` do not say which input channel is the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from honed.data.dataset import PreparedData
from honed.train.baselines.base import BaselineSkipped, register_baseline


def _target_history(data: PreparedData, x: np.ndarray) -> np.ndarray:
    """The target channel of each window ``(N, lookback)``, in the series' own units."""
    window = data.preprocess.get("window")
    if not window:
        raise BaselineSkipped("the windows do not say which input channel is the target")
    channel = window["columns"].index(window["target"])
    values = np.asarray(x, dtype=np.float64)[:, :, channel]
    scaler = data.preprocess.get("scaler") or {}
    if scaler.get("method", "none") != "none":
        values = values * scaler["scale"][channel] + scaler["center"][channel]
    return values


def _in_target_units(data: PreparedData, forecast: np.ndarray) -> np.ndarray:
    """A forecast in the series' units mapped to what the model outputs (scaled targets)."""
    if data.target_scale is None:
        return forecast
    means, stds = (np.asarray(part, dtype=np.float64) for part in data.target_scale)
    return (forecast - means) / stds


@register_baseline("last_value", tasks=("forecasting",), kinds=("sequence",),
                   description="every step of the horizon repeats the last observed value")
def last_value(data: PreparedData, inputs: Sequence[np.ndarray],
               options: dict[str, Any]) -> list[np.ndarray]:
    horizon = data.num_outputs
    return [_in_target_units(data, np.repeat(_target_history(data, part)[:, -1:], horizon,
                                             axis=1))
            for part in inputs]


@register_baseline("seasonal_naive", tasks=("forecasting",), kinds=("sequence",),
                   description="each step repeats the value one season earlier "
                               "(data.window.season)")
def seasonal_naive(data: PreparedData, inputs: Sequence[np.ndarray],
                   options: dict[str, Any]) -> list[np.ndarray]:
    season = options.get("season")
    if not season:
        raise BaselineSkipped("no season is known (set data.window.season)")
    lookback = data.input_shape[0]
    if season > lookback:
        raise BaselineSkipped(f"the season ({season} steps) is longer than the window "
                              f"(data.window.lookback {lookback})")
    # step h (0-based) of the horizon is `season * k` steps after a value in the window, with
    # the smallest k that reaches back into it; its position counted from the window's start
    steps = np.arange(data.num_outputs)
    back = season * (steps // season + 1)
    positions = lookback + steps - back
    return [_in_target_units(data, _target_history(data, part)[:, positions]) for part in inputs]
