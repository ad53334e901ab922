"""Reading and checking prediction inputs: tables, ``.npz`` arrays and image folders (text:
:mod:`honed.serve.text_inputs`).

Every check runs over all rows before anything is predicted, and a failure is one
:class:`~honed.errors.DataError` that names the rows (1-based, as a spreadsheet counts data
rows) or the fields (``records[3].age``, ``inputs[2]``), the first few of them and how many.
Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from honed.data.tables import read_frame, table_suffix
from honed.errors import DataError

__all__ = ["InputBatch", "read_input", "check_table", "check_arrays", "expected_columns"]

_SHOWN = 5  # problems spelled out in one error; the rest are counted


@dataclass
class InputBatch:
    """Raw inputs ready for ``apply_preprocess``, with one id per row (row number or file)."""

    raw: Any
    ids: list[str]

    def __len__(self) -> int:
        return len(self.ids)


def row_label(i: int) -> str:
    return f"row {i + 1}"


def expected_columns(preprocess: Mapping[str, Any]) -> list[str]:
    """The input columns a table model takes, in order."""
    return [c["name"] for c in preprocess["columns"]]


def read_input(path: str | Path, preprocess: Mapping[str, Any]) -> InputBatch:
    """Read ``path`` (CSV, also ``.csv.gz``/``.bz2``/``.xz``, Parquet, ``.npz`` or an image
    folder; for a text model a ``.txt`` file or a folder of them too) and check every row. A
    table is read as training reads it (:func:`read_frame`).

    Raises:
        DataError: The file cannot be read, does not fit the model, or has bad rows.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"input not found: {path}")
    suffix = table_suffix(path)
    text = preprocess["kind"] == "text"
    if text and not (path.is_dir() or suffix in (".csv", ".parquet", ".pq", ".txt")):
        raise DataError(f"{path}: this model reads text; give a .csv or .parquet table with "
                        f"the column(s) {', '.join(preprocess['text']['columns'])}, a .txt "
                        "file or a folder of them")
    if path.is_dir() or (text and suffix == ".txt"):
        if text:
            from .text_inputs import read_text_input

            return read_text_input(path, preprocess)
        return _read_images(path, preprocess)
    if suffix in (".csv", ".parquet", ".pq"):
        frame = read_frame(path)
        if text:
            from .text_inputs import read_text_input

            return read_text_input(path, preprocess, frame)
        if preprocess["kind"] != "table":
            raise DataError(f"{path}: this model takes {preprocess['kind']} inputs of shape "
                            f"{tuple(preprocess['input_shape'])}; give an .npz file")
        checked = check_table(frame, preprocess, where=row_label, origin=str(path))
        return InputBatch(checked, [str(i + 1) for i in range(len(checked))])
    if suffix == ".npz":
        return _read_npz(path, preprocess)
    raise DataError(f"{path}: unknown input type; give a .csv (or .csv.gz, .csv.bz2, "
                    ".csv.xz), .parquet or .npz file, or a folder of images")


def check_table(frame: pd.DataFrame, preprocess: Mapping[str, Any], *,
                where: Callable[[int], str] = row_label, origin: str = "input") -> pd.DataFrame:
    """The model's input columns of ``frame``, numeric ones parsed to float64.

    The target column is allowed (and ignored) so a labelled file can be scored as it is;
    any other unknown column, a missing column, a value that is not a number in a numeric
    column, an infinite value or a gap the model cannot impute is an error.
    """
    names = expected_columns(preprocess)
    if len(frame) == 0:
        raise DataError(f"{origin} holds no rows")
    missing = [n for n in names if n not in frame.columns]
    extra = [str(c) for c in frame.columns if c not in names and c != preprocess.get("target")]
    if missing or extra:
        parts = ([f"missing column(s) {', '.join(map(repr, missing))}"] if missing else []) + \
                ([f"unknown column(s) {', '.join(map(repr, extra))}"] if extra else [])
        raise DataError(f"{origin}: {'; '.join(parts)}; expected columns: {', '.join(names)}")
    out = {}
    problems: list[tuple[int, str]] = []
    for entry in preprocess["columns"]:
        name, column = entry["name"], frame[entry["name"]]
        if entry["type"] != "numeric":
            out[name] = column
            continue
        values, bad = _numbers(column)
        for i in np.flatnonzero(bad):
            problems.append((i, f"{where(int(i))} column '{name}': {column.iloc[i]!r} is not "
                                "a number"))
        for i in np.flatnonzero(np.isinf(values)):
            problems.append((i, f"{where(int(i))} column '{name}' is not a finite number"))
        if entry.get("impute") is None:
            for i in np.flatnonzero(np.isnan(values) & ~bad):
                problems.append((i, f"{where(int(i))} column '{name}' has no value (the model "
                                    "was trained without imputation)"))
        out[name] = values
    if problems:
        problems.sort(key=lambda p: p[0])
        raise DataError(summary(origin, [text for _, text in problems],
                                 len({i for i, _ in problems}), "row"))
    return pd.DataFrame(out, index=frame.index)


def check_arrays(values: np.ndarray, shape: tuple[int, ...], *, field: str = "x",
                 origin: str = "input") -> np.ndarray:
    """``values`` as float64 ``(N, *shape)``, naming each sample with values that are not
    finite numbers (a single sample without the batch axis is accepted)."""
    array = np.asarray(values)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise DataError(f"{origin}: {field} must hold numbers; got {array.dtype}")
    if array.shape == shape:
        array = array[None]
    if array.ndim != len(shape) + 1 or array.shape[1:] != shape:
        raise DataError(f"{origin}: {field} has shape {tuple(array.shape)}; expected "
                        f"{shape} or (N, {', '.join(map(str, shape))})")
    array = array.astype(np.float64)
    finite = np.isfinite(array).reshape(len(array), -1).all(axis=1)
    if not finite.all():
        bad = [f"{field}[{i}] holds NaN or infinite values" for i in np.flatnonzero(~finite)]
        raise DataError(summary(origin, bad, len(bad), "sample"))
    return array


def _numbers(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        return values, np.zeros(len(values), dtype=bool)
    present = column.notna().to_numpy()
    text = column.astype(object).where(present, None)
    stripped = text.map(lambda v: v.strip() if isinstance(v, str) else v)
    numeric = stripped.map(lambda v: v is None or isinstance(v, (str, int, float, np.number))
                           and not isinstance(v, bool))
    parsed = pd.to_numeric(stripped.where(numeric, None), errors="coerce")
    values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    return values, present & (np.isnan(values) | ~numeric.to_numpy(dtype=bool))


def _read_npz(path: Path, preprocess: Mapping[str, Any]) -> InputBatch:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            key = "x" if "x" in keys else (keys[0] if len(keys) == 1 else None)
            if key is None:
                raise DataError(f"{path} holds arrays {', '.join(keys) or '(none)'}; put the "
                                "inputs in an array named 'x'")
            values = archive[key]
    except DataError:
        raise
    except (ValueError, OSError, EOFError) as error:
        raise DataError(f"cannot read {path}: {str(error).splitlines()[0]}") from None
    shape = tuple(preprocess["input_shape"])
    if preprocess["kind"] == "table":
        names = expected_columns(preprocess)
        if values.ndim != 2 or values.shape[1] != len(names):
            raise DataError(f"{path}: array '{key}' has shape {values.shape}; expected "
                            f"(N, {len(names)}) for columns {', '.join(names)}")
        frame = check_table(pd.DataFrame(values, columns=names), preprocess, origin=str(path))
        return InputBatch(frame, [str(i + 1) for i in range(len(frame))])
    if preprocess["kind"] == "sequence" and shape[-1] == 1 and values.shape[1:] == shape[:-1]:
        values = values[..., None]  # (N, T) for a one-channel sequence
    array = check_arrays(values, shape, field=f"{key}", origin=str(path))
    return InputBatch(array, [str(i + 1) for i in range(len(array))])


def _read_images(folder: Path, preprocess: Mapping[str, Any]) -> InputBatch:
    from honed.data.images import IMAGE_SUFFIXES, read_image

    shape = tuple(preprocess["input_shape"])
    if preprocess["kind"] != "image" or float(preprocess.get("pixel_scale", 0)) != 255.0:
        raise DataError(f"{folder}: this model was not trained on 8-bit image files; give "
                        f"an .npz file of inputs shaped {shape}")
    info = preprocess.get("image") or {}
    mode = info.get("mode") or {1: "L", 3: "RGB", 4: "RGBA"}.get(shape[0])
    size = tuple(info.get("size") or (shape[2], shape[1]))
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in
                   IMAGE_SUFFIXES and not any(part.startswith(".") for part in
                                              p.relative_to(folder).parts))
    if not files:
        raise DataError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    pixels = np.empty((len(files), *shape), dtype=np.uint8)
    problems = []
    for i, path in enumerate(files):
        try:
            image = read_image(path, mode=mode, size=size, transform=info.get("transform"))
        except DataError as error:
            problems.append(str(error))
            continue
        if image.shape != shape:
            problems.append(f"image {path} has shape {image.shape}; expected {shape}")
            continue
        pixels[i] = image
    if problems:
        raise DataError(summary(str(folder), problems, len(problems), "image"))
    return InputBatch(pixels, [str(p.relative_to(folder)) for p in files])


def summary(origin: str, problems: list[str], count: int, unit: str, tail: str = "") -> str:
    shown = "; ".join(problems[:_SHOWN])
    more = f"; and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
    plural = "s" if count != 1 else ""
    return f"{origin}: {count} {unit}{plural} failed validation: {shown}{more}{tail}"
