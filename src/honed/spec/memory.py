"""In-memory data sources for the Python API: a DataFrame or ``(X, y)`` arrays as ``data.source``.

The spec stays plain data (it is saved as YAML in every run dir), so the object is kept here and
the spec holds ``memory:KEY``, where KEY is a digest of the contents: the same data gives the same
spec, which keeps the pipeline's fingerprints (and so its resumability) meaningful. The data
layer reads it back with :func:`memory_data`. The name means nothing to another process: a run
dir that must stand alone gets its data written to a file (``honed.Model.save`` does).
"""

from __future__ import annotations

import hashlib
from typing import Any

__all__ = ["MEMORY_PREFIX", "memory_source", "memory_data", "is_memory_source",
           "SUPPORTED_SOURCES"]

MEMORY_PREFIX = "memory:"
SUPPORTED_SOURCES = ("builtin:NAME, a file or folder path, a pandas DataFrame or an (X, y) pair "
                     "of arrays")

_SOURCES: dict[str, Any] = {}  # key -> DataFrame or (x, y) arrays, for this process's life
_KEYS: dict[int, tuple[Any, str]] = {}  # id(object) -> (object, key): hash each object once


def is_memory_source(source: str) -> bool:
    """Whether ``source`` names data handed in from Python."""
    return source.startswith(MEMORY_PREFIX)


def memory_source(data: Any) -> str:
    """Keep ``data`` (a DataFrame or an ``(X, y)`` pair) and return the ``memory:KEY`` naming it.

    Raises:
        ValueError: ``data`` is neither; the message says what it is (pydantic turns it into
            a spec error naming ``data.source``).

    Example:
        >>> spec_from_dict({"data": {"source": frame, "target": "y"}, ...})  # calls this
    """
    held = _KEYS.get(id(data))
    if held is not None and held[0] is data:
        return MEMORY_PREFIX + held[1]
    value, digest = _checked(data)
    key = digest.hexdigest()[:16]
    _SOURCES[key] = value
    _KEYS[id(data)] = (data, key)
    return MEMORY_PREFIX + key


def memory_data(source: str) -> Any | None:
    """The DataFrame or ``(x, y)`` arrays that ``source`` names; None when this process has none."""
    return _SOURCES.get(source[len(MEMORY_PREFIX):])


def _checked(data: Any):
    import numpy as np
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        digest = hashlib.sha256(b"frame")
        digest.update(repr(list(map(str, data.columns))).encode())
        digest.update(repr([str(t) for t in data.dtypes]).encode())
        digest.update(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
        return data.copy(), digest
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = (a.to_numpy() if isinstance(a, (pd.DataFrame, pd.Series))
                else np.asarray(a) if isinstance(a, list) else a for a in data)
        if all(isinstance(a, np.ndarray) for a in (x, y)):
            digest = hashlib.sha256(b"arrays")
            for array in (x, y):
                digest.update(f"{array.dtype}{array.shape}".encode())
                digest.update(np.ascontiguousarray(array).tobytes())
            return (x.copy(), y.copy()), digest
    kind = type(data).__name__
    if isinstance(data, (tuple, list)):
        kind += f" of {len(data)} ({', '.join(type(a).__name__ for a in data[:3])})"
    raise ValueError(f"{kind} is not a data source; give {SUPPORTED_SOURCES}")
