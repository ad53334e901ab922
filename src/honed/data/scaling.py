"""Feature scaling: standard (mean/std) or min-max, per column or per channel.

A fitted scaler is a plain dict ``{"method", "center", "scale"}`` with one entry per column or
channel, applied as ``(x - center) / scale``: standard has center = mean and scale = std;
min-max has center = min and scale = max - min. A constant column gets scale 1, so it maps to
0 instead of dividing by zero.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_scaler", "apply_scaler", "SCALERS"]

SCALERS = ("none", "standard", "minmax")


def fit_scaler(method: str, values: np.ndarray, *, axis: int = -1,
               skip: np.ndarray | None = None) -> dict:
    """Fit a scaler on the training values.

    Args:
        method: ``"none"``, ``"standard"`` or ``"minmax"``.
        values: Training inputs; statistics are taken over every axis but ``axis``.
        axis: The column / channel axis.
        skip: Boolean mask over that axis of entries to leave as they are (one-hot columns).

    Returns:
        The JSON-ready scaler dict.
    """
    if method not in SCALERS:
        raise ValueError(f"unknown scaling {method!r}; choose one of: {', '.join(SCALERS)}")
    if method == "none":
        return {"method": "none"}
    moved = np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    if method == "standard":
        center, scale = flat.mean(axis=0), flat.std(axis=0)
    else:
        center = flat.min(axis=0)
        scale = flat.max(axis=0) - center
    scale = np.where(scale > 0, scale, 1.0)
    if skip is not None:
        center = np.where(skip, 0.0, center)
        scale = np.where(skip, 1.0, scale)
    return {"method": method, "center": [float(v) for v in center],
            "scale": [float(v) for v in scale]}


def apply_scaler(scaler: dict, values: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """``(values - center) / scale`` along ``axis``, in float64."""
    values = np.asarray(values, dtype=np.float64)
    if scaler.get("method", "none") == "none":
        return values
    shape = [1] * values.ndim
    shape[axis] = -1
    center = np.asarray(scaler["center"], dtype=np.float64).reshape(shape)
    scale = np.asarray(scaler["scale"], dtype=np.float64).reshape(shape)
    return (values - center) / scale
