"""CSV and Parquet tables: read, check every column, and sort columns into numbers and text."""

from __future__ import annotations

import lzma
from pathlib import Path

import numpy as np
import pandas as pd

from honed.errors import DataError

from .csv_engine import read_csv
from .raw import RawData

__all__ = ["read_table", "read_frame", "column_values", "table_raw", "table_suffix",
           "input_columns", "target_values", "COMPRESSIONS"]

# pandas infers each of these from the file name and decompresses while reading
COMPRESSIONS = (".gz", ".bz2", ".xz")


def read_table(path: Path, *, target: str | None, features: list[str] | None) -> RawData:
    """Read a ``.csv`` or ``.parquet`` file into a table :class:`RawData`.

    Numeric columns become float64, text columns object arrays of ``str`` (``NaN`` where
    missing); the dtypes as read are kept in ``extra["dtypes"]``.

    Raises:
        DataError: The file is missing, unreadable or empty; ``target`` or a feature is not a
            column; a mostly numeric column holds a value that is not a number; the target
            column has a missing value.
    """
    frame = read_frame(path)
    return table_raw(frame, origin=str(path), target=target, features=features)


def table_raw(frame: pd.DataFrame, *, origin: str, target: str | None,
              features: list[str] | None) -> RawData:
    """Check a DataFrame as :func:`read_table` does and wrap it (rows numbered from 1)."""
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise DataError(f"{origin} has no data rows")
    features = input_columns(list(frame.columns), origin=origin, target=target,
                             features=features)
    x = pd.DataFrame({name: column_values(frame[name], origin=origin, name=name)
                      for name in features})
    y = target_values(frame[target], origin=origin, target=target)
    dtypes = {name: str(frame[name].dtype) for name in [*features, target]}
    # A CSV's integer column is as likely a count as a label: only a few values make classes.
    return RawData(x=x, y=y, kind="table", target=target, origin=origin,
                   extra={"dtypes": dtypes}, max_classes=20)


def input_columns(columns: list[str], *, origin: str, target: str | None,
                  features: list[str] | None) -> list[str]:
    """The input columns a table gives the model: ``data.features``, or every column but the
    target (the checks of :func:`read_table`)."""
    listed = ", ".join(columns)
    if target is None:
        raise DataError(f"{origin}: set data.target to the label column; columns: {listed}")
    if target not in columns:
        raise DataError(f"{origin} has no column '{target}' (data.target); columns: {listed}")
    if features is None:
        features = [c for c in columns if c != target]
    missing = [c for c in features if c not in columns]
    if missing:
        raise DataError(f"{origin} has no column '{missing[0]}' (data.features); columns: {listed}")
    features = list(dict.fromkeys(c for c in features if c != target))
    if not features:
        raise DataError(f"{origin} has no input columns besides the target '{target}'")
    return features


def target_values(column: pd.Series, *, origin: str, target: str) -> np.ndarray:
    """The target column as :func:`read_table` keeps it; integer labels stay integers."""
    y = column_values(column, origin=origin, name=target)
    absent = np.flatnonzero(pd.isna(y))
    if absent.size:
        raise DataError(f"{origin}: row {absent[0] + 1} has no value in target column '{target}'")
    y = np.asarray(y)
    if pd.api.types.is_integer_dtype(column) or pd.api.types.is_bool_dtype(column):
        y = y.astype(np.int64)  # integer labels stay integers: they may be class codes
    return y


def column_values(column: pd.Series, *, origin: str, name: str) -> pd.Series:
    """One column as float64 numbers, or as ``str`` objects when it holds text.

    A text column whose values mostly read as numbers is taken to be a numeric column with a
    typo in it, and reported, rather than silently one-hot encoded into hundreds of columns.

    Raises:
        DataError: Names ``origin``, the column, the 1-based data row and the bad value.
    """
    column = column.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(column):
        return column.astype(np.float64)
    if pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(column):
        raise DataError(f"{origin}: column '{name}' holds dates ({column.dtype}); give numbers "
                        "or text, or leave it out with data.features")
    if pd.api.types.is_numeric_dtype(column):
        values = column.astype(np.float64)
        _check_finite(values, origin, name, column)
        return values
    present = column.notna().to_numpy()
    text = column[present].astype(str).str.strip()
    parsed = pd.to_numeric(text, errors="coerce")
    bad = parsed.isna().to_numpy()
    if not bad.any():
        values = pd.Series(np.full(len(column), np.nan))
        values[present] = parsed.to_numpy(dtype=np.float64)
        _check_finite(values, origin, name, column)
        return values
    if bad.sum() < (~bad).sum():
        row = int(np.flatnonzero(present)[np.argmax(bad)])
        raise DataError(f"{origin}: column '{name}' row {row + 1} holds {column[row]!r}, not a "
                        "number like the rest of the column (fix it, or leave the cell empty "
                        "for a missing value)")
    out = np.full(len(column), np.nan, dtype=object)
    out[present] = text.to_numpy(dtype=object)
    return pd.Series(out, dtype=object)


def _check_finite(values: pd.Series, origin: str, name: str, column: pd.Series) -> None:
    infinite = np.flatnonzero(np.isinf(values.to_numpy()))
    if infinite.size:
        row = int(infinite[0])
        raise DataError(f"{origin}: column '{name}' row {row + 1} holds {column[row]!r}, "
                        "which is not a finite number")


def table_suffix(path: Path) -> str:
    """The file's own suffix, looking through a compression one: ``x.csv.gz`` is ``.csv``."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] in COMPRESSIONS:
        return suffixes[-2]
    return path.suffix.lower()


def read_frame(path: Path) -> pd.DataFrame:
    """Read a CSV (plain, or ``.csv.gz`` / ``.bz2`` / ``.xz``) or Parquet file as it is.

    Raises:
        DataError: The file is missing, empty or unreadable (a corrupt archive included).
    """
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    suffix = table_suffix(path)
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except (ValueError, OSError, EOFError, UnicodeDecodeError, ImportError,
            lzma.LZMAError) as error:  # EOFError: a truncated archive
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"cannot read {path}: {first}") from None
