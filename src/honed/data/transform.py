"""Raw inputs to model inputs, from the ``preprocess`` dict alone (numpy and pandas only).

The same function builds the training inputs in :func:`honed.data.prepare_data` and the inputs
of a served model, so the two cannot drift apart. This module must not import torch: the
serving runtime uses it without PyTorch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from honed.errors import DataError

from .scaling import apply_scaler
from .text import text_ids

__all__ = ["apply_preprocess", "inverse_target_scale", "table_matrix"]


def apply_preprocess(preprocess: Mapping[str, Any], raw: Any) -> np.ndarray:
    """Turn raw inputs into float32 model inputs exactly as training did.

    Args:
        preprocess: ``PreparedData.preprocess`` (or the same dict read back from JSON).
        raw: For tables a DataFrame with the input columns (or a dict of columns, a list of
            row dicts, or an ``(N, F)`` array in column order). For images an ``(N, C, H, W)``
            array of raw pixels in the source's units (0..255 for image files). For sequences
            an ``(N, T, C)`` array; forecasting takes the ``lookback`` raw values before the
            first step to predict. A single sample without the batch axis is accepted too.
            For text a DataFrame (or dict, or row dicts) of the text columns, or a string or
            list of strings when there is one text column.

    Returns:
        float32 array ``(N, *input_shape)``; for text int64 token ids ``(N, max_length)``, or
        with table columns beside the text float32 ``[ids | features]``
        (:mod:`honed.data.mixed`).

    Raises:
        DataError: A column is missing, a value is not a number, a shape does not fit.
    """
    if preprocess["kind"] == "text":
        from .mixed import with_tabular

        return with_tabular(preprocess, text_ids(preprocess, raw), raw)
    if preprocess["kind"] == "table":
        values = table_matrix(preprocess, raw)
        axis = -1
    else:
        values = _array(preprocess, raw)
        axis = 1 if preprocess["kind"] == "image" else -1
    return apply_scaler(preprocess["scaler"], values, axis=axis).astype(np.float32)


def inverse_target_scale(preprocess: Mapping[str, Any], y: np.ndarray) -> np.ndarray:
    """Model outputs for regression or forecasting back in the target's own units."""
    scale = preprocess.get("target_scale")
    y = np.asarray(y, dtype=np.float64)
    if not scale:
        return y
    return y * np.asarray(scale["std"]) + np.asarray(scale["mean"])


def _array(preprocess: Mapping[str, Any], raw: Any) -> np.ndarray:
    shape = tuple(preprocess["input_shape"])
    values = np.asarray(raw)
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise DataError(f"inputs must be numbers; got dtype {values.dtype}")
    values = values.astype(np.float64)
    if values.shape == shape:
        values = values[None]
    elif preprocess["kind"] == "sequence" and shape[-1] == 1 and values.shape[1:] == shape[:-1]:
        values = values[..., None]  # (N, T) for a one-channel sequence
    if values.shape[1:] != shape:
        raise DataError(f"inputs of shape {tuple(values.shape[1:])} do not fit the model's "
                        f"input shape {shape}")
    finite = np.isfinite(values).all(axis=tuple(range(1, values.ndim)))
    if not finite.all():
        raise DataError(f"input sample {int(np.argmin(finite))} holds NaN or infinite values")
    return values / float(preprocess.get("pixel_scale", 1.0))


def table_matrix(preprocess: Mapping[str, Any], raw: Any) -> np.ndarray:
    """Table inputs cleaned and encoded (imputed, clipped, one-hot), not yet scaled."""
    columns = preprocess["columns"]
    frame = _frame(raw, [c["name"] for c in columns])
    blocks = []
    for entry in columns:
        name = entry["name"]
        if name not in frame.columns:
            expected = ", ".join(c["name"] for c in columns)
            raise DataError(f"input has no column '{name}'; expected columns: {expected}")
        if entry["type"] == "numeric":
            blocks.append(_numeric(entry, frame[name])[:, None])
        else:
            blocks.append(_categorical(entry, frame[name]))
    if not blocks:
        return np.zeros((len(frame), 0))
    return np.concatenate(blocks, axis=1)


def _frame(raw: Any, names: list[str]) -> pd.DataFrame:
    if isinstance(raw, pd.DataFrame):
        return raw
    if isinstance(raw, Mapping) or (isinstance(raw, Sequence) and raw
                                    and isinstance(raw[0], Mapping)):
        return pd.DataFrame(raw)
    values = np.asarray(raw)
    if values.ndim == 1:
        values = values[None]
    if values.ndim != 2 or values.shape[1] != len(names):
        raise DataError(f"table inputs must have {len(names)} columns ({', '.join(names)}); "
                        f"got shape {values.shape}")
    return pd.DataFrame(values, columns=names)


def _numeric(entry: Mapping[str, Any], column: pd.Series) -> np.ndarray:
    name = entry["name"]
    if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        present = column.notna().to_numpy()
        text = column.astype(object).where(present, None)
        parsed = pd.to_numeric(text.map(lambda v: v.strip() if isinstance(v, str) else v),
                               errors="coerce").to_numpy(dtype=np.float64)
        bad = present & np.isnan(parsed)
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(f"input column '{name}' row {row + 1} holds "
                            f"{column.iloc[row]!r}, not a number")
        values = parsed
    if np.isinf(values).any():
        row = int(np.argmax(np.isinf(values)))
        raise DataError(f"input column '{name}' row {row + 1} is not a finite number")
    missing = np.isnan(values)
    if missing.any():
        if entry["impute"] is None:
            raise DataError(f"input column '{name}' row {int(np.argmax(missing)) + 1} has no "
                            "value, and the model was trained without imputation "
                            "(data.clean.impute: drop)")
        values = np.where(missing, entry["impute"], values)
    if entry["clip"] is not None:
        values = np.clip(values, entry["clip"][0], entry["clip"][1])
    return values


def _categorical(entry: Mapping[str, Any], column: pd.Series) -> np.ndarray:
    present = column.notna().to_numpy()
    text = np.array([str(v).strip() if ok else entry["impute"]
                     for v, ok in zip(column.to_numpy(dtype=object), present, strict=True)],
                    dtype=object)
    # Unseen (and dropped rare) categories get code -1: all zeros one-hot, -1 ordinal.
    categories = pd.Index(entry["categories"], dtype=object)
    codes = categories.get_indexer(pd.Index(text, dtype=object)).astype(np.int64)
    if entry["encoding"] == "ordinal":
        return codes[:, None].astype(np.float64)
    return (codes[:, None] == np.arange(len(entry["categories"]))[None, :]).astype(np.float64)
