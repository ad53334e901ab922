"""Feature scaling: standard (mean/std) or min-max, per column or per channel.

A fitted scaler is a plain dict ``{"method", "center", "scale"}`` with one entry per column or
channel, applied as ``(x - center) / scale``: standard has center = mean and scale = std;
min-max has center = min and scale = max - min. A constant column gets scale 1, so it maps to
0 instead of dividing by zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

__all__ = ["fit_scaler", "fit_scaler_chunks", "fit_scaler_columns", "apply_scaler", "SCALERS"]

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
    flat = _columns(values, axis)
    if method == "standard":
        center, scale = flat.mean(axis=0), flat.std(axis=0)
    else:
        center = flat.min(axis=0)
        scale = flat.max(axis=0) - center
    return _scaler(method, center, scale, skip)


def fit_scaler_chunks(method: str, chunks: Callable[[], Iterable[np.ndarray]], *,
                      axis: int = -1) -> dict:
    """:func:`fit_scaler` over data seen one chunk of rows at a time (it need not fit in memory).

    Args:
        method: ``"none"``, ``"standard"`` or ``"minmax"``.
        chunks: Called once per pass (standard makes two: mean, then spread), it yields the
            training values in chunks of rows, the same chunks each time.
        axis: The channel axis of each chunk.

    The sums run chunk by chunk, so the result depends on the chunking (in the last bits):
    in-memory and streamed image sources are both fitted through here with the same chunks,
    which keeps them bit-identical.
    """
    if method not in SCALERS:
        raise ValueError(f"unknown scaling {method!r}; choose one of: {', '.join(SCALERS)}")
    if method == "none":
        return {"method": "none"}
    count, first, second = 0, None, None
    for chunk in chunks():
        flat = _columns(chunk, axis)
        count += len(flat)
        if method == "standard":
            first = flat.sum(axis=0) + (0.0 if first is None else first)
        else:
            first = flat.min(axis=0) if first is None else np.minimum(first, flat.min(axis=0))
            second = flat.max(axis=0) if second is None else np.maximum(second, flat.max(axis=0))
    if method == "minmax":
        return _scaler(method, first, second - first, None)
    center = first / count
    spread = sum((((_columns(chunk, axis) - center) ** 2).sum(axis=0) for chunk in chunks()),
                 start=np.zeros_like(center))
    return _scaler(method, center, np.sqrt(spread / count), None)


def fit_scaler_columns(method: str, columns: Iterable[np.ndarray | None], *, width: int,
                       skip: np.ndarray | None = None) -> dict:
    """:func:`fit_scaler` of a ``(N, width)`` table given one column at a time, to the last bit.

    Args:
        method: ``"none"``, ``"standard"`` or ``"minmax"``.
        columns: Each column's ``(N,)`` float64 values in order, or ``None`` for one that
            ``skip`` leaves as it is.
        width: The number of columns.
        skip: As :func:`fit_scaler`.

    NumPy sums a C-ordered ``(N, F)`` array down its rows one row after another when ``F`` is
    2 or more, but a single column pairwise: each column is therefore summed beside a column of
    zeros (alone when the table has one column), which gives the very sums of the whole table.
    """
    if method not in SCALERS:
        raise ValueError(f"unknown scaling {method!r}; choose one of: {', '.join(SCALERS)}")
    if method == "none":
        return {"method": "none"}
    center, scale = np.zeros(width), np.ones(width)
    for i, values in enumerate(columns):
        if values is None:
            continue
        block = np.zeros((len(values), 1 if width == 1 else 2))
        block[:, 0] = values
        if method == "standard":
            center[i], scale[i] = block.mean(axis=0)[0], block.std(axis=0)[0]
        else:
            center[i] = block.min(axis=0)[0]
            scale[i] = block.max(axis=0)[0] - center[i]
    return _scaler(method, center, scale, skip)


def _columns(values: np.ndarray, axis: int) -> np.ndarray:
    moved = np.moveaxis(np.asarray(values, dtype=np.float64), axis, -1)
    return moved.reshape(-1, moved.shape[-1])


def _scaler(method: str, center: np.ndarray, scale: np.ndarray, skip: np.ndarray | None) -> dict:
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
