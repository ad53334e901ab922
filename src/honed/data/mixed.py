"""Text beside numeric and categorical columns: one float32 model input per row.

A mixed row is ``[token ids (max_length) | table features (k)]``, float32: the trainer holds
every input as one float32 tensor, and ids are whole numbers far below 2**24, so float32 holds
them exactly. The table columns go through the same cleaning, encoding and scaling as a table
(:mod:`honed.data.clean`, :func:`~honed.data.transform.table_matrix`), fitted on the training
rows; ``preprocess["tabular"]`` holds that recipe and ``offset``, the split point
(``max_length``). The exported model reads the same single float32 input.

This module must not import torch: serving builds mixed inputs without PyTorch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .scaling import apply_scaler

__all__ = ["FLOAT32_EXACT", "tabular_features", "with_tabular", "split_mixed", "mixed_width"]

#: integers up to this are exact in float32 (a 24-bit significand)
FLOAT32_EXACT = 2 ** 24


def mixed_width(preprocess: Mapping[str, Any]) -> int:
    """``k``, the table features beside the token ids (0 for text alone)."""
    tabular = preprocess.get("tabular")
    return len(tabular["feature_names"]) if tabular else 0


def tabular_features(preprocess: Mapping[str, Any], raw: Any) -> np.ndarray:
    """The table columns of ``raw`` cleaned, encoded and scaled: float64 ``(N, k)``.

    ``raw``: a DataFrame, a dict of columns, or a list of row dicts holding them.

    Raises:
        DataError: A column is missing or a value does not fit (as for a table).
    """
    from .text import is_record
    from .transform import table_matrix

    tabular = preprocess["tabular"]
    if is_record(raw):
        raw = [raw]
    return apply_scaler(tabular["scaler"], table_matrix(tabular, raw), axis=-1)


def with_tabular(preprocess: Mapping[str, Any], ids: np.ndarray, raw: Any) -> np.ndarray:
    """Token ids ``(N, T)`` and the rows' table features side by side, float32 ``(N, T + k)``;
    the ids unchanged when the recipe has no table columns."""
    if not preprocess.get("tabular"):
        return ids
    if int(preprocess["text"]["vocab_size"]) > FLOAT32_EXACT:
        raise AssertionError("token ids above 2**24 are not exact in float32")
    features = tabular_features(preprocess, raw)
    return np.concatenate([np.asarray(ids, dtype=np.float32),
                           features.astype(np.float32)], axis=1)


def split_mixed(preprocess: Mapping[str, Any], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A mixed input back into int64 token ids ``(N, T)`` and float32 features ``(N, k)``."""
    offset = int(preprocess["tabular"]["offset"]) if preprocess.get("tabular") else x.shape[1]
    x = np.asarray(x)
    return x[:, :offset].astype(np.int64), x[:, offset:].astype(np.float32)
