"""Targets: which task a source is, class codes and names, regression targets and their scale."""

from __future__ import annotations

import numpy as np
import pandas as pd

from honed.errors import DataError

from .raw import RawData

__all__ = ["resolve_task", "encode_classes", "regression_targets", "fit_target_scale"]


def resolve_task(raw: RawData, declared: str) -> str:
    """The task: what the source fixes, else ``declared``, else inferred from the labels.

    With ``declared == "auto"``: text, boolean and integer labels with at most
    ``raw.max_classes`` distinct values make a classification task; anything else numeric is
    regression. Forecasting is never inferred: a table or array needs ``data.task: forecasting``.

    Raises:
        DataError: ``declared`` contradicts the source.
    """
    if raw.task is not None:
        if declared not in ("auto", raw.task):
            raise DataError(f"{raw.origin} is a {raw.task} dataset; data.task is '{declared}'")
        return raw.task
    if declared == "forecasting":
        if raw.kind not in ("table", "series", "sequence"):
            raise DataError(f"forecasting needs a time series (a table with a target column) "
                            f"or windows (N, T, C); {raw.origin} holds {raw.kind}s")
        return "forecasting"
    if declared != "auto":
        return declared
    y = np.asarray(raw.y)
    if y.dtype == object or y.dtype.kind in "USb":
        return "classification"
    if y.ndim == 1 and y.dtype.kind in "iu" and np.unique(y).size <= raw.max_classes:
        return "classification"
    return "regression"


def encode_classes(raw: RawData) -> tuple[np.ndarray, list[str]]:
    """Integer codes ``0..K-1`` and their names.

    Names come from the source when it has them (built-in sets, image folders, ``class_names``
    in an ``.npz``); otherwise they are the distinct labels, sorted (numbers numerically).

    Raises:
        DataError: Fewer than two classes, or codes outside the source's names.
    """
    y = np.asarray(raw.y)
    where = _where(raw)
    if y.ndim != 1:
        raise DataError(f"{where}: classification needs one label per sample; got shape {y.shape}")
    if raw.class_names is not None and y.dtype.kind in "iu":
        names = list(raw.class_names)
        if y.min() < 0 or y.max() >= len(names):
            raise DataError(f"{where}: labels run from {y.min()} to {y.max()} but there are "
                            f"{len(names)} class names")
        codes = y.astype(np.int64)
    else:
        if y.dtype == object or y.dtype.kind in "US":
            values = np.array([str(v) for v in y], dtype=object)
        else:
            values = y
        distinct = np.unique(values)
        codes = np.searchsorted(distinct, values).astype(np.int64)
        names = [_label_name(v) for v in distinct]
    present = np.unique(codes)
    if present.size < 2:
        raise DataError(f"{where} has one class ({names[present[0]]!r}); classification needs "
                        "at least two")
    return codes, names


def regression_targets(raw: RawData) -> np.ndarray:
    """Targets as float64 ``(N, K)``.

    Raises:
        DataError: A target is text.
    """
    y = np.asarray(raw.y)
    if y.dtype == object or y.dtype.kind in "US":
        parsed = pd.to_numeric(pd.Series(y.ravel()), errors="coerce")
        if parsed.isna().any():
            row = int(np.argmax(parsed.isna().to_numpy()))
            raise DataError(f"{_where(raw)} holds text ({y.ravel()[row]!r} in row {row + 1}); "
                            "regression needs numbers (or set data.task: classification)")
        y = parsed.to_numpy().reshape(y.shape)
    y = y.astype(np.float64)
    return y[:, None] if y.ndim == 1 else y


def fit_target_scale(y_train: np.ndarray) -> dict:
    """Per-column mean and std of the training targets (std 0 becomes 1)."""
    mean = y_train.mean(axis=0)
    std = y_train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return {"mean": [float(v) for v in mean], "std": [float(v) for v in std]}


def _label_name(value) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _where(raw: RawData) -> str:
    if raw.target and raw.kind == "table" and not raw.origin.startswith("builtin:"):
        return f"{raw.origin}: target column '{raw.target}'"
    return raw.origin
