"""Reading inputs for a text model: a table of its text columns, or ``.txt`` files
(``honed predict`` and ``honed explain RUN TEXTS`` both read them here).

- A CSV or Parquet table must hold the model's text columns (``data.text``); other columns
  (the label, an id) are left alone. A row whose text is empty in every column is an error,
  as is a text column read as numbers.
- A folder is searched for ``.txt`` files at any depth (subfolders allowed, hidden ones
  skipped), one file one text, named by its path inside the folder; each must be UTF-8 and
  not empty. A single ``.txt`` file is one text, named by its file name. Files fit a model
  with one text column.

Every problem is found before anything is predicted, and reported as one
:class:`~honed.errors.DataError` line. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from honed.data.text import TEXT_SUFFIX
from honed.errors import DataError

from .inputs import InputBatch, summary

__all__ = ["read_text_input", "check_text_table"]


def read_text_input(path: Path, preprocess: Mapping[str, Any],
                    frame: pd.DataFrame | None = None) -> InputBatch:
    """A ``.txt`` file or a folder of them, or ``frame`` (the table read from ``path``),
    checked."""
    if frame is None:
        if preprocess.get("tabular"):
            names = [c["name"] for c in preprocess["tabular"]["columns"]]
            raise DataError(f"{path}: this model reads text beside the columns "
                            f"{', '.join(names)}; give a .csv or .parquet table with them, "
                            f"not a folder of {TEXT_SUFFIX} files")
        return _read_text_files(path, preprocess["text"]["columns"])
    checked = check_text_table(frame, preprocess, origin=str(path))
    return InputBatch(checked, [str(i + 1) for i in range(len(checked))])


def check_text_table(frame: pd.DataFrame, preprocess: Mapping[str, Any], *,
                     origin: str = "input") -> pd.DataFrame:
    """The text columns of ``frame``, gaps read as empty strings (and, for a model that reads
    table columns beside the text, those columns as they are; the preprocessing checks them).

    Raises:
        DataError: No rows, a missing column, a text column of numbers, or rows with no text.
    """
    columns = preprocess["text"]["columns"]
    tabular = preprocess.get("tabular")
    others = [c["name"] for c in tabular["columns"]] if tabular else []
    if len(frame) == 0:
        raise DataError(f"{origin} holds no rows")
    missing = [name for name in others if name not in frame.columns]
    if missing:
        raise DataError(f"{origin}: missing column(s) {', '.join(map(repr, missing))}; the "
                        f"model reads {', '.join([*columns, *others])} (columns found: "
                        f"{', '.join(map(str, frame.columns))})")
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        raise DataError(f"{origin}: missing text column(s) {', '.join(map(repr, missing))}; "
                        f"the model reads {', '.join(columns)} (columns found: "
                        f"{', '.join(map(str, frame.columns))})")
    out = {}
    for name in columns:
        column = frame[name]
        if column.notna().any() and (pd.api.types.is_numeric_dtype(column)
                                     or pd.api.types.is_bool_dtype(column)):
            raise DataError(f"{origin}: text column '{name}' holds {column.dtype} values, "
                            "not text")
        out[name] = column.map(lambda v: v if isinstance(v, str) else "")
    texts = pd.DataFrame(out, index=frame.index)
    empty = (texts.map(str.strip) == "").all(axis=1).to_numpy()
    if empty.any():
        rows = [f"row {i + 1} has no text" for i in empty.nonzero()[0]]
        raise DataError(summary(origin, rows, len(rows), "row"))
    if others:
        texts = pd.concat([texts, frame[others]], axis=1)
    return texts.reset_index(drop=True)


def _read_text_files(path: Path, columns: list[str]) -> InputBatch:
    if len(columns) != 1:
        raise DataError(f"{path}: this model reads {len(columns)} text columns "
                        f"({', '.join(columns)}); give a CSV with them, not "
                        f"{TEXT_SUFFIX} files")
    if path.is_dir():
        folder = path
        files = sorted(p for p in folder.rglob(f"*{TEXT_SUFFIX}") if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(folder).parts))
        if not files:
            raise DataError(f"{folder} holds no {TEXT_SUFFIX} files")
    else:
        folder, files = path.parent, [path]
    texts, problems = [], []
    for file in files:
        try:
            text = file.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as error:
            problems.append(f"{file} is not UTF-8 text (byte {error.start}: "
                            f"{error.object[error.start:error.start + 1]!r})")
            continue
        except OSError as error:
            problems.append(f"cannot read {file}: {error.strerror or error}")
            continue
        if not text.strip():
            problems.append(f"{file} is empty")
        texts.append(text.strip())
    if problems:
        raise DataError(summary(str(folder), problems, len(problems), "file")
                        if path.is_dir() else problems[0])
    return InputBatch(pd.DataFrame({columns[0]: pd.Series(texts, dtype=object)}),
                      [p.relative_to(folder).as_posix() for p in files])
