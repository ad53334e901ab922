"""Fitting table cleaning on the training rows: imputation, outlier clipping, encoding.

The result is one JSON-ready entry per input column (see :mod:`honed.data.transform` for how
an entry is applied). Statistics come from the training rows only, so nothing about the
validation or test rows leaks into the inputs the model sees.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from honed.errors import DataError

__all__ = ["fit_columns"]


def fit_columns(train: pd.DataFrame, *, impute: str, clip: str, clip_factor: float,
                encoding: str, max_categories: int, dtypes: dict[str, str] | None = None
                ) -> list[dict]:
    """Fit every column of the training rows.

    Args:
        train: Training rows as :func:`honed.data.tables.column_values` gives them: float64
            numbers or ``str`` objects, ``NaN`` where missing.
        impute: ``mean``, ``median``, ``most_frequent`` or ``drop`` (numbers); text columns
            always take their most frequent value.
        clip: ``none``, ``iqr``, ``zscore`` or ``quantile``.
        clip_factor: IQR multiple, z-score bound, or tail percentage for ``quantile``.
        encoding: ``onehot`` or ``ordinal`` for text columns.
        max_categories: The most frequent categories kept per text column; rarer ones are
            treated like unseen ones.
        dtypes: Column dtypes as read, recorded for serving.

    Returns:
        One entry per column, in order.
    """
    if clip == "quantile" and clip_factor >= 50:
        raise DataError(f"data.clean.clip_factor is a tail percentage for quantile clipping and "
                        f"must be below 50; got {clip_factor}")
    dtypes = dtypes or {}
    entries = []
    for name in train.columns:
        column = train[name]
        dtype = dtypes.get(name, str(column.dtype))
        if column.dtype == object:
            entries.append(_fit_categorical(name, column, dtype, encoding, max_categories))
        else:
            entries.append(_fit_numeric(name, column, dtype, impute, clip, clip_factor))
    return entries


def _fit_numeric(name: str, column: pd.Series, dtype: str, impute: str, clip: str,
                 factor: float) -> dict:
    values = column.dropna().to_numpy(dtype=np.float64)
    bounds = _clip_bounds(values, clip, factor) if values.size else None
    if bounds is not None:
        values = np.clip(values, bounds[0], bounds[1])
    if impute == "drop":
        fill = None  # rows with gaps were dropped; serving refuses them too
    elif values.size == 0:
        fill = 0.0  # no training value at all: any constant carries the same information
    elif impute == "mean":
        fill = float(values.mean())
    elif impute == "median":
        fill = float(np.median(values))
    else:
        distinct, counts = np.unique(values, return_counts=True)
        fill = float(distinct[np.argmax(counts)])  # ties: the smallest value
    return {"name": name, "type": "numeric", "dtype": dtype, "impute": fill,
            "clip": None if bounds is None else [float(bounds[0]), float(bounds[1])],
            "outputs": [name]}


def _clip_bounds(values: np.ndarray, method: str, factor: float) -> tuple[float, float] | None:
    # Indicator columns (two values or fewer) have no outliers, and an IQR of zero (a column
    # that is mostly one value) would clip every other value onto it.
    if method == "none" or _at_most_two_values(values):
        return None
    if method == "iqr":
        q1, q3 = np.percentile(values, [25, 75])
        if q3 <= q1:
            return None
        return q1 - factor * (q3 - q1), q3 + factor * (q3 - q1)
    if method == "zscore":
        mean, std = values.mean(), values.std()
        return (mean - factor * std, mean + factor * std) if std > 0 else None
    low, high = np.quantile(values, [factor / 100.0, 1.0 - factor / 100.0])
    return (low, high) if high > low else None


def _at_most_two_values(values: np.ndarray) -> bool:
    """``np.unique(values).size <= 2`` without sorting: every value is the minimum or maximum."""
    low, high = values.min(), values.max()
    return bool(np.all((values == low) | (values == high)))


def _fit_categorical(name: str, column: pd.Series, dtype: str, encoding: str,
                     max_categories: int) -> dict:
    counts = column.dropna().value_counts()
    # most frequent first, ties by name, so the result never depends on row order
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    fill = ranked[0][0] if ranked else None
    categories = sorted(str(value) for value, _ in ranked[:max_categories])
    outputs = [f"{name}={c}" for c in categories] if encoding == "onehot" else [name]
    return {"name": name, "type": "categorical", "dtype": dtype, "impute": fill,
            "encoding": encoding, "categories": categories, "outputs": outputs}
