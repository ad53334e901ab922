"""Free text: folders of ``.txt`` files, text columns of a table, and their preprocessing.

A table's string column that reads like free text (mostly distinct values of several words)
is never one-hot encoded: either ``data.text`` names it and it is tokenized, or reading stops
with a line that names the column and the key to set. Several text columns are joined into one
text per row, separated by the ``[SEP]`` token.

This module must not import torch: :func:`text_ids` serves models without PyTorch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from honed.errors import DataError
from honed.spec.schema import TokenizerSpec

from .images import IMAGE_SUFFIXES
from .raw import RawData
from .tokenize import (
    SEP,
    encode_lengths,
    encode_rows,
    encode_texts,
    fit_tokenizer,
    read_tokenizer,
    vocab_size,
)

__all__ = ["TEXT_SUFFIX", "is_text_folder", "read_text_folder", "take_text_columns",
           "looks_like_free_text", "fit_text", "text_ids", "text_ids_cut", "text_ids_and_lengths",
           "joined_texts", "is_record"]

TEXT_SUFFIX = ".txt"
_SEPARATOR = f" {SEP} "
# A column is free text when at least half its values are distinct and they average this many
# words (or CJK ideographs, which are written without spaces).
_FREE_TEXT_UNIQUE, _FREE_TEXT_WORDS, _FREE_TEXT_MIN_ROWS = 0.5, 3.0, 10


def is_text_folder(folder: Path) -> bool:
    """Whether ``folder``'s class subfolders hold ``.txt`` files and no images (an image
    folder may carry a stray notes file; it is read as images)."""
    suffixes = {p.suffix.lower() for child in folder.iterdir()
                if child.is_dir() and not child.name.startswith(".")
                for p in child.iterdir() if p.is_file()}
    return TEXT_SUFFIX in suffixes and not suffixes & set(IMAGE_SUFFIXES)


def read_text_folder(folder: Path) -> RawData:
    """Read ``folder/CLASS/*.txt`` (UTF-8) as texts labelled by their subfolder's name.

    The convention of scikit-learn's ``load_files``: class names are the subfolder names,
    sorted; files are taken in sorted order; hidden files and other suffixes are skipped.

    Raises:
        DataError: Fewer than two classes, a class without ``.txt`` files, or a file that is
            not UTF-8 (naming the file and the byte offset).
    """
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        found = f"only '{classes[0]}'" if classes else "none"
        raise DataError(f"text folder {folder} needs one subfolder of .txt files per class, "
                        f"at least two; found {found}")
    texts: list[str] = []
    labels: list[int] = []
    for code, name in enumerate(classes):
        files = sorted(p for p in (folder / name).iterdir()
                       if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() == TEXT_SUFFIX)
        if not files:
            raise DataError(f"class folder {folder / name} has no {TEXT_SUFFIX} files")
        for path in files:
            try:
                texts.append(path.read_bytes().decode("utf-8-sig").strip())
            except UnicodeDecodeError as error:
                raise DataError(f"{path} is not UTF-8 text (byte {error.start}: "
                                f"{error.object[error.start:error.start + 1]!r}); "
                                "re-encode it as UTF-8") from None
            except OSError as error:
                raise DataError(f"cannot read {path}: {error.strerror or error}") from None
            labels.append(code)
    return RawData(x=pd.DataFrame({"text": pd.Series(texts, dtype=object)}),
                   y=np.asarray(labels, dtype=np.int64), kind="text", task="classification",
                   class_names=classes, origin=str(folder), extra={"text_columns": ["text"]})


def looks_like_free_text(column: pd.Series) -> bool:
    """Mostly distinct strings of several words each: sentences, not categories or codes."""
    kinds = pd.api.types
    if (kinds.is_numeric_dtype(column) or kinds.is_bool_dtype(column)
            or kinds.is_datetime64_any_dtype(column)):
        return False  # typed: no strings to scan (the scan cost 0.35 s a column on 500k rows)
    values = column.dropna()
    values = values[values.map(lambda v: isinstance(v, str))]
    if len(values) < _FREE_TEXT_MIN_ROWS or values.nunique() < _FREE_TEXT_UNIQUE * len(values):
        return False
    words = values.str.split().str.len() + values.str.count(r"[\u4e00-\u9fff]")
    return float(words.mean()) >= _FREE_TEXT_WORDS


def take_text_columns(raw: RawData, columns: list[str] | None) -> RawData:
    """Apply ``data.text`` to a source: its columns become the text input, or none is free text.

    Without ``data.text``, a table column that looks like free text stops the run. With it, the
    text columns are tokenized, and any other input column (the target aside, and unless
    ``data.features`` leaves it out) is read beside them as a table column
    (``extra["table_columns"]``; see :mod:`honed.data.mixed`).

    Raises:
        DataError: One line naming the column and the key to set.
    """
    if raw.kind == "text":
        if columns is not None and columns != raw.extra["text_columns"]:
            raise DataError(f"data.text names table columns; {raw.origin} is a folder of "
                            ".txt files (leave data.text out)")
        return raw
    if raw.kind != "table":
        if columns is not None:
            raise DataError(f"data.text names table columns; {raw.origin} holds {raw.kind}s")
        return raw
    if columns is None:
        for name in raw.x.columns:
            if looks_like_free_text(raw.x[name]):
                raise DataError(f"{raw.origin}: column '{name}' holds free text (mostly "
                                f"distinct values of several words); set data.text: [{name}] "
                                "to tokenize it, or leave it out with data.features")
        return raw
    if not columns:
        raise DataError("data.text is empty; name at least one text column")
    listed = ", ".join(raw.x.columns)
    for name in columns:
        if name not in raw.x.columns:
            raise DataError(f"{raw.origin} has no input column '{name}' (data.text); "
                            f"columns: {listed}")
        # an all-empty column reads as missing values (float NaN): empty, not numbers
        values = raw.x[name].dropna()
        if not values.map(lambda v: not isinstance(v, str) or v.strip() != "").any():
            raise DataError(f"{raw.origin}: text column '{name}' (data.text) is empty in "
                            "every row")
        if raw.x[name].dtype != object:
            raise DataError(f"{raw.origin}: column '{name}' (data.text) holds numbers, not text")
    text_columns = list(dict.fromkeys(columns))
    others = [name for name in raw.x.columns if name not in text_columns]
    dtypes = raw.extra.get("dtypes") or {}
    extra = {"text_columns": text_columns}
    if others:  # read beside the text: cleaned, encoded and scaled as a table's
        extra.update(table_columns=others, dtypes={n: dtypes[n] for n in others if n in dtypes})
    return RawData(x=raw.x[text_columns + others].copy(), y=raw.y, kind="text", task=raw.task,
                   class_names=raw.class_names, target=raw.target, origin=raw.origin,
                   max_classes=raw.max_classes, extra=extra)


def fit_text(train: pd.DataFrame, spec: TokenizerSpec, columns: list[str]) -> dict[str, Any]:
    """Train the tokenizer on the training rows (or read ``spec.file``); the ``text`` and
    ``tokenizer`` recipe keys."""
    texts = _joined(train[list(columns)])
    if spec.file is not None:
        tokenizer = read_tokenizer(spec.file)
    else:
        tokenizer = fit_tokenizer(texts, kind=spec.kind, vocab_size=spec.vocab_size,
                                  lowercase=spec.lowercase, min_frequency=spec.min_frequency)
    _, cut = encode_texts(tokenizer, texts, max_length=spec.max_length)
    text = {"columns": list(columns), "separator": _SEPARATOR, "max_length": spec.max_length,
            "pad_id": 0, "vocab_size": vocab_size(tokenizer), "tokenizer": spec.model_dump(),
            "train_texts": len(texts), "train_truncated": cut}
    return {"text": text, "tokenizer": tokenizer}


def text_ids(preprocess: Mapping[str, Any], raw: Any) -> np.ndarray:
    """Raw texts to int64 token ids ``(N, max_length)``, exactly as in training.

    ``raw`` is a DataFrame (or a dict of columns, or a list of row dicts) holding the text
    columns, or, for a single text column, a string or a list of strings.

    Raises:
        DataError: A text column is missing, or a value is not a string.
    """
    return text_ids_cut(preprocess, raw)[0]


def text_ids_and_lengths(preprocess: Mapping[str, Any], raw: Any
                         ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`text_ids` and each text's length in tokens before the cut to ``max_length``."""
    return encode_lengths(preprocess["tokenizer"], joined_texts(preprocess, raw),
                          max_length=preprocess["text"]["max_length"])


def joined_texts(preprocess: Mapping[str, Any], raw: Any) -> list[str]:
    """One string per row: the text columns joined as the tokenizer reads them.

    ``raw`` as in :func:`text_ids`.

    Raises:
        DataError: A text column is missing, or a value is not a string.
    """
    text = preprocess["text"]
    return _joined(_text_columns(raw, text["columns"]), text["separator"])


def text_ids_cut(preprocess: Mapping[str, Any], raw: Any, *, threads: bool = False
                 ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`text_ids`, and which texts were longer than ``max_length`` tokens and cut.

    ``threads``: tokenize on the tokenizers thread pool (see
    :func:`~honed.data.tokenize.encode_rows`; for processes that fork no workers afterwards).
    """
    text = preprocess["text"]
    return encode_rows(preprocess["tokenizer"],
                       _joined(_text_columns(raw, text["columns"]), text["separator"]),
                       max_length=text["max_length"], threads=threads)


def _text_columns(raw: Any, columns: list[str]) -> dict[str, list]:
    """The values of each text column of ``raw``, in row order (records are read as they
    are: building a DataFrame costs more than tokenizing a short request)."""
    if isinstance(raw, str) or is_record(raw):
        raw = [raw]  # one text, or one record
    if isinstance(raw, pd.DataFrame):
        found = raw.columns
    elif isinstance(raw, Mapping):
        found = raw.keys()
    elif isinstance(raw, Sequence) and raw and isinstance(raw[0], Mapping):
        found = set(columns).intersection(*(row.keys() for row in raw))
        if len(found) == len(columns):
            return {name: [row[name] for row in raw] for name in columns}
    else:
        values = list(np.asarray(raw, dtype=object).reshape(-1)) if len(raw) else []
        if len(columns) != 1:
            raise DataError(f"text inputs need the columns {', '.join(columns)}; give a "
                            "table of them, not a list of strings")
        return {columns[0]: values}
    for name in columns:
        if name not in found:
            raise DataError(f"input has no text column '{name}'; expected columns: "
                            f"{', '.join(columns)}")
    return {name: list(raw[name]) for name in columns}


def is_record(raw: Any) -> bool:
    """Whether ``raw`` is one record (a mapping of single values), not a dict of columns."""
    return isinstance(raw, Mapping) and not any(
        isinstance(v, (list, tuple, np.ndarray, pd.Series)) for v in raw.values())


def _joined(values: Mapping[str, list] | pd.DataFrame, separator: str = _SEPARATOR
            ) -> list[str]:
    """One text per row: the columns' strings joined (a gap, None or NaN, is empty)."""
    parts = []
    for name, column in values.items():
        for row, value in enumerate(column):
            if not (isinstance(value, str) or value is None
                    or (isinstance(value, float) and np.isnan(value))):
                raise DataError(f"text column '{name}' row {row + 1} holds "
                                f"{type(value).__name__} {value!r}, not a string")
        parts.append(["" if not isinstance(v, str) else v for v in column])
    if len(parts) == 1:
        return parts[0]
    return [separator.join(row) for row in zip(*parts, strict=True)]
