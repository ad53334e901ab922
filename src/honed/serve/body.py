"""Decoding the body of ``POST /v1/predict``: JSON, or one ``.npy`` array.

JSON is parsed by orjson. A body that is exactly ``{"inputs": [...]}``, or ``{"records":
[...]}`` with flat objects of scalars, is what :class:`~honed.serve.schemas.PredictRequest`
would accept unchanged, so it skips pydantic. Every other body, including the ones orjson
refuses (``NaN``, integers beyond 64 bits, invalid UTF-8), goes through
``PredictRequest.model_validate_json`` as before, so its answer (a 422 naming the field) does
not depend on which parser ran first.

A body sent as ``application/x-npy`` is one array in NumPy's ``.npy`` format, of the model's
input shape with a leading batch axis. Its header is read and checked (version, numeric dtype,
shape, and a data length that matches) before anything is allocated, and it never unpickles.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import numpy as np
import orjson

from .payload import FieldError
from .schemas import PredictRequest

__all__ = ["NPY_TYPE", "decode_body", "read_npy"]

#: the content type of a ``.npy`` request body
NPY_TYPE = "application/x-npy"
_SCALARS = (str, float, int, bool, type(None))
#: the header numpy.save writes; numpy's own reader (ast and tokenize) costs ~80 us a body
_SAVED_HEADER = re.compile(rb"\{'descr': '([<>|=]?[a-z]\d{0,2})', 'fortran_order': "
                           rb"(True|False), 'shape': \(((?:\d+, )*(?:\d+,?)?)\), \} *\n")


def decode_body(raw: bytes, content_type: str | None = None) -> tuple[str, Any]:
    """``("records", rows)`` or ``("inputs", arrays)`` from a request body.

    Raises:
        pydantic.ValidationError: JSON that does not fit :class:`PredictRequest`.
        FieldError: A ``.npy`` body that cannot be read.
    """
    if content_type and content_type.split(";", 1)[0].strip().lower() == NPY_TYPE:
        return "inputs", read_npy(raw)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if type(data) is dict and len(data) == 1:
        (field, items), = data.items()
        if field == "inputs" and type(items) is list:
            return field, items
        if field == "records" and type(items) is list and all(
                type(row) is dict and all(type(v) in _SCALARS for v in row.values())
                for row in items):
            return field, items
    request = PredictRequest.model_validate_json(raw)
    if request.records is not None:
        return "records", request.records
    return "inputs", request.inputs


def read_npy(raw: bytes) -> np.ndarray:
    """The array in a ``.npy`` body: integers or floats, without pickle.

    Raises:
        FieldError: Not a ``.npy`` file, a dtype that is not a plain number, or data that
            does not match the header's shape.
    """
    shape, fortran, dtype, offset = _npy_header(raw)
    if dtype.kind not in "iuf" or dtype.fields is not None:
        raise FieldError(["body"], f"the .npy array holds {dtype}; send integers or floats "
                         "(e.g. float32)")
    if not shape:
        raise FieldError(["body"], "the .npy array is a single number; send an array of "
                         "samples, shaped (N, *input shape)")
    need = math.prod(shape) * dtype.itemsize
    have = len(raw) - offset
    if have != need:
        raise FieldError(["body"], f"the .npy array's header says shape {list(shape)} of "
                         f"{dtype} ({need} bytes) but {have} bytes of data follow")
    array = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=offset)
    return array.reshape(shape, order="F" if fortran else "C")


def _npy_header(raw: bytes) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and data offset of a ``.npy`` body."""
    if raw[:8] in (b"\x93NUMPY\x01\x00", b"\x93NUMPY\x02\x00"):
        size = 2 if raw[6] == 1 else 4
        start = 8 + size
        saved = _SAVED_HEADER.fullmatch(raw, start, start + int.from_bytes(raw[8:start],
                                                                           "little"))
        if saved is not None:
            descr, fortran, shape = saved.groups()
            try:
                dtype = np.dtype(descr.decode())
            except TypeError:
                dtype = None
            if dtype is not None:
                return (tuple(int(n) for n in shape.split(b",") if n.strip()),
                        fortran == b"True", dtype, saved.end())
    stream = io.BytesIO(raw)  # anything else numpy may have written
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise FieldError(["body"], f".npy format version {version} is not supported; "
                             "write it with numpy.save")
    except FieldError:
        raise
    except Exception as error:  # numpy's header parser raises many kinds (tokenize errors too)
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise FieldError(["body"], f"not a .npy array ({detail}); send an array written "
                         f"by numpy.save, as content-type {NPY_TYPE}") from None
    return shape, fortran, dtype, stream.tell()
