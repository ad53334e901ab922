"""A Parquet table read a column or a row group at a time, for tables larger than memory.

:func:`read_parquet_rows` reads and checks each input column alone (one column of a large table
fits where the whole table does not), then hands back a :class:`RawData` whose ``x`` is a
:class:`ParquetRows`: any rows of it, as the DataFrame that :func:`honed.data.tables.read_table`
would have held for them, decoded from the row groups that hold them (a few recent row groups
are kept decoded). Fitting reads whole columns (:mod:`honed.data.table_fit`); training reads
batches of rows through :class:`honed.data.streaming.LazyInputs`, so the model inputs are the
very float32 values of the in-memory path.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd

from honed.errors import DataError

from .loader_workers import pick_workers
from .raw import RawData
from .streaming import MEMORY_SHARE, memory_budget, should_stream
from .tables import column_values, input_columns, target_values
from .text import take_text_columns

__all__ = ["ParquetRows", "read_parquet_rows", "CACHE_BYTES", "PARQUET_SUFFIXES"]

PARQUET_SUFFIXES = (".parquet", ".pq")
#: decoded row groups kept per process (at least one), in float64 bytes
CACHE_BYTES = 256 << 20


def read_parquet_rows(path: Path, *, target: str | None, features: list[str] | None,
                      stream: bool | str, workers: int | str = "auto") -> RawData | None:
    """The table at ``path`` streamed by row groups, or ``None`` when ``data.stream`` (``auto``:
    by its size as float64 columns plus float32 model inputs) says to read it into memory.

    Each process that reads rows (this one and each of ``workers``) keeps decoded row groups up
    to its share of :data:`~honed.data.streaming.MEMORY_SHARE` of the memory available, at
    most :data:`CACHE_BYTES`.

    Raises:
        DataError: As :func:`honed.data.tables.read_table`, or a column holds free text.
    """
    names, rows = _schema(path)
    origin = str(path)
    columns = input_columns(names, origin=origin, target=target, features=features)
    if not should_stream(stream, rows * len(columns) * (8 + 4)):
        return None
    if rows == 0:
        raise DataError(f"{origin} has no data rows")
    share = MEMORY_SHARE * memory_budget() / (1 + pick_workers(workers).workers)
    table = ParquetRows(path, columns, text=[], cache_bytes=int(min(CACHE_BYTES, share)))
    dtypes = {}
    for name in columns:
        column = table.read_column(name)
        dtypes[name] = str(column.dtype)
        values = column_values(column, origin=origin, name=name)
        if values.dtype == object:  # a category column, or free text (refused here as in memory)
            take_text_columns(RawData(x=values.to_frame(name), y=None, kind="table",
                                      origin=origin), None)
            table.text.append(name)
    column = table.read_column(target)
    dtypes[target] = str(column.dtype)
    y = target_values(column, origin=origin, target=target)
    return RawData(x=table, y=y, kind="table", target=target, origin=origin,
                   extra={"dtypes": dtypes}, max_classes=20, stream=True)


class ParquetRows:
    """The input columns of a Parquet file, read by row groups when indexed.

    Args:
        path: The ``.parquet`` file.
        columns: The input columns, in order.
        text: Those of them that hold text (categories): read as stripped ``str``.
        cache_bytes: Decoded row groups kept (the most recently used), at least one.
    """

    def __init__(self, path: str | Path, columns: list[str], *, text: list[str],
                 cache_bytes: int = CACHE_BYTES) -> None:
        self.path, self.columns, self.text = str(path), list(columns), list(text)
        self.cache_bytes = int(cache_bytes)
        metadata = self._file().metadata
        sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        self.starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
        self.shape = (int(self.starts[-1]), len(self.columns))
        self._groups: OrderedDict[int, dict[str, np.ndarray]] = OrderedDict()

    def __len__(self) -> int:
        return self.shape[0]

    def read_column(self, name: str) -> pd.Series:
        """One whole column as pandas reads it (with the dtype that :func:`read_table` records)."""
        try:
            # no threads (a process under an address-space cap may not start one), and not
            # pandas.read_parquet, whose dataset reader starts I/O threads
            table = self._file().read(columns=[name], use_threads=False)
            return table.to_pandas(use_threads=False)[name].reset_index(drop=True)
        except (ValueError, OSError, ImportError) as error:
            raise DataError(f"cannot read column '{name}' of {self.path}: {_first(error)}") from None

    def values(self, name: str) -> pd.Series:
        """One whole input column as the in-memory table holds it."""
        return self._convert(name, self.read_column(name))

    def complete_rows(self) -> np.ndarray:
        """A mask of the rows with a value in every input column."""
        mask = np.ones(len(self), dtype=bool)
        for name in self.columns:
            mask &= self.values(name).notna().to_numpy()
        return mask

    def __getitem__(self, positions) -> pd.DataFrame:
        """Rows ``positions`` (0-based, any order) as a DataFrame of the input columns."""
        positions = np.asarray(positions, dtype=np.int64).reshape(-1)
        groups = np.searchsorted(self.starts, positions, side="right") - 1
        out = {name: np.empty(len(positions), dtype=object if name in self.text else np.float64)
               for name in self.columns}
        for group in np.unique(groups):
            where = np.flatnonzero(groups == group)
            block = self._group(int(group))
            offsets = positions[where] - self.starts[group]
            for name in self.columns:
                out[name][where] = block[name][offsets]
        return pd.DataFrame(out, columns=self.columns)

    def _group(self, group: int) -> dict[str, np.ndarray]:
        if group in self._groups:
            self._groups.move_to_end(group)
            return self._groups[group]
        try:
            frame = self._file().read_row_group(group, columns=self.columns,
                                                use_threads=False).to_pandas(use_threads=False)
        except (ValueError, OSError) as error:
            raise DataError(f"cannot read row group {group} of {self.path}: "
                            f"{_first(error)}") from None
        block = {name: self._convert(name, frame[name]).to_numpy() for name in self.columns}
        self._groups[group] = block
        rows = int(self.starts[group + 1] - self.starts[group])
        while len(self._groups) > 1 and len(self._groups) * rows * len(self.columns) * 8 > \
                self.cache_bytes:
            self._groups.popitem(last=False)
        return block

    def _convert(self, name: str, column: pd.Series) -> pd.Series:
        column = column.reset_index(drop=True)
        if name not in self.text:
            return column_values(column, origin=self.path, name=name)
        present = column.notna().to_numpy()
        out = np.full(len(column), np.nan, dtype=object)
        out[present] = column[present].astype(str).str.strip().to_numpy(dtype=object)
        return pd.Series(out, dtype=object)

    def _file(self):
        if getattr(self, "_handle", None) is None:
            import pyarrow.parquet as pq

            try:
                # pre_buffer reads through I/O threads; a capped process may not start them
                self._handle = pq.ParquetFile(self.path, pre_buffer=False)
            except (ValueError, OSError) as error:
                raise DataError(f"cannot read {self.path}: {_first(error)}") from None
        return self._handle

    def __getstate__(self) -> dict:
        """A worker process gets the file name and reopens it; the decoded groups stay here."""
        state = dict(self.__dict__)
        state["_handle"], state["_groups"] = None, OrderedDict()
        return state

    def __repr__(self) -> str:
        return (f"ParquetRows({self.path!r}, {len(self)} rows, {len(self.columns)} columns, "
                f"{len(self.starts) - 1} row groups)")


def _schema(path: Path) -> tuple[list[str], int]:
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
        rows = pq.ParquetFile(path).metadata.num_rows
    except (ValueError, OSError) as error:
        raise DataError(f"cannot read {path}: {_first(error)}") from None
    # pandas keeps a named index as a column; a RangeIndex is described, not stored
    index = {name for name in (schema.pandas_metadata or {}).get("index_columns", [])
             if isinstance(name, str)}
    names = [name for name in schema.names if name not in index]
    return names, int(rows)


def _first(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
