"""Texts to explain, read from a ``.txt`` file, a folder of them or a table's text columns.

The same inputs ``honed predict`` takes for a text model: a ``.txt`` file is one text (UTF-8);
a folder is every ``.txt`` file under it (sorted, hidden ones skipped; class subfolders as in
training are fine, the id is the path inside the folder); a CSV or Parquet table holds the
run's text columns (``data.text``; ``.csv.gz``, ``.bz2``, ``.xz`` too), ids being row numbers. The texts are tokenized with the
run's own tokenizer, and every one is read and checked before anything is explained.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from honed.errors import DataError

__all__ = ["read_texts"]


def read_texts(path: str | Path, preprocess: Mapping[str, Any]) -> tuple[np.ndarray, list[str]]:
    """Token ids ``(N, max_length)`` as float32 (what the models take) and one id per text.

    Raises:
        DataError: One line naming the file and what is wrong with it.
    """
    from honed.data.tables import read_frame, table_suffix
    from honed.data.text import TEXT_SUFFIX, text_ids

    path = Path(path)
    column = preprocess["text"]["columns"][0]
    if not path.exists():
        raise DataError(f"input not found: {path}")
    if path.is_dir():
        files = sorted(p for p in path.rglob(f"*{TEXT_SUFFIX}") if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise DataError(f"{path} holds no {TEXT_SUFFIX} files")
        frame = pd.DataFrame({column: [_read_text(p) for p in files]})
        ids = [p.relative_to(path).as_posix() for p in files]
    elif path.suffix.lower() == TEXT_SUFFIX:
        frame, ids = pd.DataFrame({column: [_read_text(path)]}), [path.name]
    elif table_suffix(path) in (".csv", ".parquet", ".pq"):
        frame = read_frame(path)  # as training reads it (.csv.gz and the like too)
        ids = [str(i + 1) for i in range(len(frame))]
    else:
        raise DataError(f"{path}: a text model explains a {TEXT_SUFFIX} file, a folder of them, "
                        "or a .csv (or .csv.gz, .bz2, .xz) or .parquet table of its text "
                        "columns")
    if len(frame) == 0:
        raise DataError(f"{path} holds no texts")
    return text_ids(preprocess, frame).astype(np.float32), ids


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig").strip()
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not UTF-8 text (byte {error.start}); re-encode it as "
                        "UTF-8") from None
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from None
