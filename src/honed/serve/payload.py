"""Checking one HTTP request's inputs field by field, cheaply, before it joins a batch.

The checks are plain Python over a few values, so a single-record request costs microseconds
here; the preprocessing itself (pandas, NumPy) then runs once per batch in
:meth:`honed.serve.runtime.Runtime.predict_many`. Each failure names its field the way
FastAPI does (``["body", "records", 3, "age"]``), for a 422 answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["FieldError", "validation_detail", "check_records", "check_text_records", "text_field",
           "check_inputs"]


class FieldError(ValueError):
    """One bad field of a request: ``loc`` (FastAPI style) and a message."""

    def __init__(self, loc: list[str | int], msg: str):
        super().__init__(msg)
        self.loc, self.msg = loc, msg

    def detail(self) -> list[dict[str, Any]]:
        return [{"loc": self.loc, "msg": self.msg, "type": "value_error"}]


def validation_detail(errors: list[Mapping[str, Any]], within: tuple[str, ...] = ("body",)
                      ) -> list[dict[str, Any]]:
    """Pydantic's ``errors()`` as a 422's ``detail`` (at most 10), each ``loc`` under
    ``within``: only where and what, not the input (it may be large, or bytes that are not
    UTF-8, which JSON cannot hold)."""
    return [{"loc": [*within, *e.get("loc", ())], "msg": e.get("msg", ""),
             "type": e.get("type", "")} for e in errors[:10]]


def check_records(records: list[Mapping[str, Any]], preprocess: Mapping[str, Any]
                  ) -> list[dict[str, Any]]:
    """Records by column name for a table model, numeric columns as floats.

    A missing or unknown column (the target column is allowed and dropped), a value that is
    not a number in a numeric column, a non-finite number, or a gap the model cannot impute
    raises :class:`FieldError`.
    """
    columns = preprocess["columns"]
    names = {c["name"] for c in columns}
    target = preprocess.get("target")
    out = []
    for i, record in enumerate(records):
        _refuse_unknown(record, i, names, target, "columns: " + ", ".join(
            c["name"] for c in columns))
        row = {}
        for entry in columns:
            name = entry["name"]
            if name not in record:
                raise FieldError(["body", "records", i, name], f"missing column '{name}'")
            value = record[name]
            if entry["type"] == "numeric":
                value = _number(value, entry, ["body", "records", i, name])
            elif isinstance(value, (dict, list)):
                raise FieldError(["body", "records", i, name], "must be a single value")
            row[name] = value
        out.append(row)
    return out


def text_field(field: str, preprocess: Mapping[str, Any]) -> None:
    """A text model takes ``records`` of strings: any other ``field`` is a FieldError."""
    if field != "records":
        raise FieldError(["body", field], "this model reads text: send 'records' of strings by "
                         f"column ({', '.join(preprocess['text']['columns'])})")


def check_text_records(records: list[Mapping[str, Any]], preprocess: Mapping[str, Any], *,
                       max_chars: int) -> list[Mapping[str, Any]]:
    """Records of raw strings for a text model, by its text columns (``data.text``).

    A missing or unknown column (the target column is allowed and dropped), a value that is
    not a string or longer than ``max_chars`` characters, or a record whose text is empty
    in every column raises :class:`FieldError`. Texts longer than the model's
    ``max_length`` tokens are no error: they are cut, as in training, and the answer says so.
    """
    columns = preprocess["text"]["columns"]
    target = preprocess.get("target")
    tabular = preprocess.get("tabular")  # table columns beside the text (honed.data.mixed)
    others = [c["name"] for c in tabular["columns"]] if tabular else []
    expected = f"text columns: {', '.join(columns)}" + (
        f"; columns: {', '.join(others)}" if others else "")
    for i, record in enumerate(records):
        _refuse_unknown(record, i, [*columns, *others], target, expected)
    table = check_records([{k: v for k, v in record.items() if k not in columns}
                           for record in records],
                          {"columns": tabular["columns"], "target": target}) if tabular else None
    out = []
    for i, record in enumerate(records):
        for name in columns:
            loc = ["body", "records", i, name]
            if name not in record:
                raise FieldError(loc, f"missing text column '{name}'")
            value = record[name]
            if not isinstance(value, str):
                raise FieldError(loc, f"must be a string of text; got {_json_type(value)}")
            if len(value) > max_chars:
                raise FieldError(loc, f"is {len(value)} characters long; at most {max_chars} "
                                 "per text")
        if all(not record[name].strip() for name in columns):
            raise FieldError(["body", "records", i, columns[0]], "is empty; send the text "
                             "to classify")
        if table is not None:
            out.append({**{name: record[name] for name in columns}, **table[i]})
            continue
        out.append(record if len(record) == len(columns) else
                   {name: record[name] for name in columns})
    return out


def _refuse_unknown(record: Mapping[str, Any], i: int, names, target: Any,
                    expected: str) -> None:
    """A key of ``record`` that is neither an input column nor the target is a FieldError."""
    for key in record:
        if key not in names and key != target:
            raise FieldError(["body", "records", i, key], f"unknown column '{key}'; "
                             f"expected {expected}")


def _json_type(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", type(None): "null",
             list: "an array", dict: "an object"}
    return names.get(type(value), type(value).__name__)


def check_inputs(inputs: Any, preprocess: Mapping[str, Any]) -> Any:
    """Arrays of the model's input shape: ``(N, *shape)`` or one sample ``shape``.

    For a table model the arrays are rows of values in column order and come back as records.
    Raises :class:`FieldError` naming the first sample of the wrong shape, with values that
    are not numbers, or with NaN/infinite values.
    """
    shape = tuple(preprocess["input_shape"])
    if preprocess["kind"] == "table":
        shape = (len(preprocess["columns"]),)
    try:
        array = np.asarray(inputs, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):  # ragged, not numbers, or beyond float64
        array = None
    if array is not None and array.shape == shape:
        array = array[None]
    if (preprocess["kind"] == "sequence" and array is not None and shape[-1] == 1
            and array.shape[1:] == shape[:-1]):
        array = array[..., None]  # (N, T) for a one-channel sequence
    if array is None or array.shape[1:] != shape or array.ndim != len(shape) + 1:
        raise FieldError(*_first_bad_sample(inputs, shape))
    if not np.isfinite(array).all():  # one reduction; per sample only to name the first
        finite = np.isfinite(array).reshape(len(array), -1).all(axis=1)
        i = int(np.argmin(finite))
        raise FieldError(["body", "inputs", i], "holds NaN or infinite values")
    if preprocess["kind"] == "table":
        names = [c["name"] for c in preprocess["columns"]]
        return check_records([dict(zip(names, row, strict=True)) for row in array.tolist()],
                             preprocess)
    return array


def _number(value: Any, entry: Mapping[str, Any], loc: list) -> float:
    if value is None:
        if entry.get("impute") is None:
            raise FieldError(loc, "has no value, and the model was trained without imputation")
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FieldError(loc, f"{value!r} is not a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise FieldError(loc, f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise FieldError(loc, f"{value!r} is not a finite number")
    return number


def _first_bad_sample(inputs: Any, shape: tuple[int, ...]) -> tuple[list, str]:
    expected = f"expected {list(shape)} per sample"
    if isinstance(inputs, np.ndarray):  # a .npy body
        return ["body", "inputs"], (f"the array has shape {list(inputs.shape)}; expected "
                                    f"[N, {', '.join(map(str, shape))}]")
    if not isinstance(inputs, list) or not inputs:
        return ["body", "inputs"], f"must be a non-empty array; {expected}"
    for i, sample in enumerate(inputs):
        try:
            got = np.asarray(sample, dtype=np.float64)
        except OverflowError:
            return ["body", "inputs", i], "holds a number too large for a float"
        except (ValueError, TypeError):
            return ["body", "inputs", i], f"must hold only numbers in nested arrays; {expected}"
        if got.shape != shape:
            return ["body", "inputs", i], f"has shape {list(got.shape)}; {expected}"
    return ["body", "inputs"], f"must have shape {list(shape)} or [N, {', '.join(map(str, shape))}]"
