"""From ``data.source`` to a :class:`RawData`: built-in name, table, ``.npz``, image files, or
data handed in from Python (``memory:KEY``: a DataFrame or ``(X, y)`` arrays)."""

from __future__ import annotations

from pathlib import Path

from honed.errors import DataError
from honed.spec.memory import is_memory_source, memory_data
from honed.spec.schema import DataSpec

from .arrays import NPY_INPUTS, raw_from_arrays, read_npy_folder, read_npz
from .image_transform import image_transform
from .images import read_image_folder, read_image_list
from .parquet_rows import PARQUET_SUFFIXES, read_parquet_rows
from .raw import RawData
from .registry import load_builtin
from .tables import read_table, table_raw, table_suffix
from .text import is_text_folder, read_text_folder, take_text_columns
from .timeseries import read_series

__all__ = ["load_source", "resolve_path", "TABLE_SUFFIXES"]

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def resolve_path(source: str, base_dir: str | Path | None) -> Path:
    """``source`` as a path; a relative one is read from ``base_dir`` (the spec's folder)."""
    path = Path(source).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    return path


def load_source(spec: DataSpec, *, base_dir: str | Path | None = None) -> RawData:
    """Read ``spec.source`` as it is, before any cleaning, splitting or scaling.

    Tables with ``data.task: forecasting`` are read as a time series of the target column
    (plus ``data.features``, if given). ``data.text`` columns become a ``text`` source; a
    free-text column that it does not name is refused (see :mod:`honed.data.text`).

    A folder is read as class subfolders of images; with ``data.image`` set, a ``.csv`` is
    read as ``path,label`` rows of image files.

    Raises:
        DataError: The source is unknown, missing or unreadable, or does not fit the spec.
    """
    raw = _read(spec, base_dir)
    if spec.stream is True and not raw.stream:
        raise DataError(_no_stream(spec, base_dir))
    if raw.stream and raw.kind == "table":
        return raw  # its columns were checked one at a time as they were read
    return take_text_columns(raw, spec.text)


def _no_stream(spec: DataSpec, base_dir: str | Path | None) -> str:
    """Why ``data.stream: true`` cannot stream this source, in one line."""
    source = spec.source
    suffix = "" if source.startswith("builtin:") or is_memory_source(source) else \
        table_suffix(resolve_path(source, base_dir))
    if suffix == ".csv":
        return (f"data.stream: true cannot stream {source}: a CSV has no row groups to read a "
                "batch from; convert it to Parquet (pandas: read_csv(...).to_parquet(...)) or "
                "set data.stream to auto or false")
    if suffix in PARQUET_SUFFIXES:
        reason = "text columns (data.text)" if spec.text else "a time series (forecasting)"
        return (f"data.stream: true streams a Parquet table's number and category columns; "
                f"{source} holds {reason}, read into memory: set data.stream to auto or false")
    return (f"data.stream: true streams image files, .npy arrays (3-D or 4-D) and Parquet "
            f"tables; {source} is read into memory: set data.stream to auto or false")


def _read(spec: DataSpec, base_dir: str | Path | None) -> RawData:
    source = spec.source
    if spec.image is not None and (source.startswith("builtin:") or is_memory_source(source)):
        raise DataError(f"data.image reads image files: a folder of class subfolders or a CSV "
                        f"of path,label rows; data.source is {source}")
    if source.startswith("builtin:"):
        raw = load_builtin(source[len("builtin:"):])
        if raw.kind == "table" and spec.features is not None:
            missing = [name for name in spec.features if name not in raw.x.columns]
            if missing:
                listed = ", ".join(raw.x.columns)
                raise DataError(f"{source} has no column '{missing[0]}' (data.features); "
                                f"columns: {listed}")
            if not spec.features:
                raise DataError("data.features is empty; list at least one column")
            raw.x = raw.x[list(dict.fromkeys(spec.features))]
        elif spec.features is not None:
            raise DataError(f"data.features selects table columns; {source} holds "
                            f"{raw.kind}s")
        return raw
    if is_memory_source(source):
        return _memory_raw(spec)
    path = resolve_path(source, base_dir)
    transform = None if spec.image is None else image_transform(**spec.image.model_dump())
    if path.is_dir():
        _no_table_keys(spec, path)
        if is_text_folder(path):
            return read_text_folder(path)
        if (path / NPY_INPUTS).is_file() and transform is None:
            return read_npy_folder(path, stream=spec.stream)
        return read_image_folder(path, transform=transform, skip_bad=spec.skip_bad,
                                 stream=spec.stream)
    suffix = table_suffix(path)
    if transform is not None and suffix == ".csv":
        _no_table_keys(spec, path)
        return read_image_list(path, label=spec.target, transform=transform,
                               skip_bad=spec.skip_bad, stream=spec.stream)
    if spec.image is not None and path.exists():
        raise DataError(f"data.image reads image files: a folder of class subfolders or a CSV "
                        f"of path,label rows; {path} is neither")
    if suffix in TABLE_SUFFIXES:
        if spec.task == "forecasting":
            return read_series(path, target=spec.target, features=spec.features)
        if suffix in PARQUET_SUFFIXES and spec.text is None and spec.stream is not False:
            streamed = read_parquet_rows(path, target=spec.target, features=spec.features,
                                         stream=spec.stream, workers=spec.workers)
            if streamed is not None:
                return streamed
        return read_table(path, target=spec.target, features=spec.features)
    if suffix == ".npz":
        _no_table_keys(spec, path)
        return read_npz(path)
    if not path.exists():
        raise DataError(f"data source not found: {path}")
    raise DataError(f"cannot tell how to read {path}: data.source must be builtin:NAME, a "
                    ".csv (or .csv.gz, .csv.bz2, .csv.xz), .parquet or .npz file, or a folder "
                    "of class subfolders of images")


def _memory_raw(spec: DataSpec) -> RawData:
    """A DataFrame (read as a table file would be) or ``(x, y)`` arrays (as an ``.npz``)."""
    data = memory_data(spec.source)
    if data is None:
        raise DataError(f"data.source {spec.source} was data handed in from Python in another "
                        "session; write it to a file (honed.Model.save does) and name that")
    if spec.task == "forecasting":
        raise DataError("data.task forecasting reads a series from a .csv or .parquet file; "
                        "write the DataFrame to one and name it in data.source")
    if isinstance(data, tuple):
        _no_table_keys(spec, Path("the (X, y) arrays"))
        return raw_from_arrays(*data, origin="the (X, y) arrays")
    return table_raw(data, origin="the DataFrame", target=spec.target, features=spec.features)


def _no_table_keys(spec: DataSpec, path: Path) -> None:
    if spec.features is not None:
        raise DataError(f"data.features selects table columns; {path} is not a table")
