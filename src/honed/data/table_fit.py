"""Fitting a streamed table's preprocessing one column at a time, to the in-memory recipe.

Each input column is read alone (:meth:`honed.data.parquet_rows.ParquetRows.values`), its
training rows taken in split order and fitted by :func:`honed.data.clean.fit_columns`, exactly
as the whole table's training rows are in memory (every statistic there is per column). The
scaler is then fitted column by column too (:func:`honed.data.scaling.fit_scaler_columns`,
which sums as NumPy sums the whole matrix), so the recipe is equal to the last bit.
"""

from __future__ import annotations

import numpy as np

from honed.spec.schema import DataSpec

from .clean import fit_columns
from .raw import RawData
from .scaling import fit_scaler_columns
from .transform import table_matrix

__all__ = ["fit_table_columns", "table_recipe", "table_skip"]


def fit_table_columns(raw: RawData, train_rows: np.ndarray, spec: DataSpec,
                      common: dict) -> dict:
    """The table recipe of :func:`honed.data.preprocess.fit_preprocess` for a streamed table
    (``raw.x`` a :class:`~honed.data.parquet_rows.ParquetRows`), never holding more than one
    column of it."""
    table, clean = raw.x, spec.clean

    def train_column(name: str):
        return table.values(name).iloc[train_rows].to_frame(name)

    columns = []
    for name in table.columns:
        columns += fit_columns(train_column(name), impute=clean.impute, clip=clean.clip,
                               clip_factor=clean.clip_factor, encoding=clean.encoding,
                               max_categories=clean.max_categories,
                               dtypes=raw.extra.get("dtypes"))
    skip = table_skip(columns)

    def numbers():
        for entry in columns:
            if entry["type"] == "categorical":
                yield from (None for _ in entry["outputs"])
            else:
                yield table_matrix({"columns": [entry]}, train_column(entry["name"]))[:, 0]

    scaler = fit_scaler_columns(spec.scale, numbers(), width=skip.size, skip=skip)
    return table_recipe(common, columns, spec, scaler)


def table_recipe(common: dict, columns: list[dict], spec: DataSpec, scaler: dict) -> dict:
    """The recipe of a table from its fitted columns and scaler."""
    feature_names = [name for c in columns for name in c["outputs"]]
    return {**common, "columns": columns, "clean": spec.clean.model_dump(), "scaler": scaler,
            "feature_names": feature_names, "input_shape": [len(feature_names)]}


def table_skip(columns: list[dict]) -> np.ndarray:
    """Categorical outputs (one-hot 0/1, ordinal codes) are left unscaled."""
    return np.array([c["type"] == "categorical" for c in columns for _ in c["outputs"]],
                    dtype=bool)
