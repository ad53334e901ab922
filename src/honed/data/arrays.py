"""NumPy ``.npz`` files holding arrays ``x`` and ``y`` (and optionally ``class_names``)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from honed.errors import DataError

from .raw import RawData
from .streaming import row_chunks, should_stream

__all__ = ["read_npz", "read_npy_folder", "raw_from_arrays", "NPY_INPUTS", "NPY_TARGETS"]

NPY_INPUTS, NPY_TARGETS = "x.npy", "y.npy"


def read_npz(path: Path) -> RawData:
    """Read ``x`` (N, ...) and ``y`` from an ``.npz`` file, never unpickling anything.

    Raises:
        DataError: The file is missing or unreadable, an array is missing, stored as Python
            objects or not numeric, or ``x`` and ``y`` differ in length.
    """
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        detail = "not an .npz archive" if isinstance(error, ValueError) else str(error)
        raise DataError(f"cannot read {path}: {detail.splitlines()[0]}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"cannot read {path}: a single .npy array; save x and y together with "
                        "np.savez(path, x=..., y=...)")
    with archive:
        names = set(archive.files)
        for needed in ("x", "y"):
            if needed not in names:
                have = ", ".join(sorted(names)) or "none"
                raise DataError(f"{path} has no array '{needed}'; arrays: {have}")
        x, y = _array(archive, "x", path), _array(archive, "y", path)
        class_names = None
        if "class_names" in names:
            class_names = [str(n) for n in _array(archive, "class_names", path).tolist()]
    raw = raw_from_arrays(x, y, origin=str(path))
    raw.class_names = class_names
    return raw


def read_npy_folder(folder: Path, *, stream: bool | str = False) -> RawData:
    """A folder holding ``x.npy`` (N, ...) and ``y.npy`` (N,) or (N, K), the inputs read
    through a memory map: 3-D and 4-D inputs larger than ``data.stream`` allows stay on disk
    and are read a batch at a time.

    Raises:
        DataError: As :func:`read_npz`; or ``data.stream: true`` on 2-D (table) inputs.
    """
    x, y = _npy(folder / NPY_INPUTS, mmap=True), _npy(folder / NPY_TARGETS, mmap=False)
    row_values = int(np.prod(x.shape[1:])) if x.ndim else 0
    lazy = x.ndim in (3, 4) and should_stream(stream, x.nbytes + len(x) * row_values * 4)
    if stream is True and x.ndim == 2:
        raise DataError(f"{folder / NPY_INPUTS}: data.stream: true streams 3-D (sequence) and "
                        "4-D (image) arrays; 2-D inputs are a table, read into memory")
    raw = raw_from_arrays(x if lazy else np.array(x), y, origin=str(folder))
    raw.stream = lazy
    return raw


def _npy(path: Path, *, mmap: bool) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as error:
        detail = str(error).splitlines()[0]
        if "pickle" in detail:
            detail = "it holds Python objects; save a plain numeric array"
        raise DataError(f"cannot read {path}: {detail}") from None
    except OSError as error:
        raise DataError(f"cannot read {path}: {error}") from None


def raw_from_arrays(x: np.ndarray, y: np.ndarray, *, origin: str) -> RawData:
    """Wrap arrays; the number of dimensions of ``x`` decides the kind.

    2-D ``(N, F)`` is a table (columns ``x0``, ``x1``, ...; missing values allowed and imputed
    like any table), 3-D ``(N, T, C)`` a sequence, 4-D ``(N, C, H, W)`` an image.
    """
    for name, array in (("x", x), ("y", y)):
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            if name == "y" and array.dtype.kind == "U" and array.ndim == 1:
                continue  # text labels are fine
            raise DataError(f"{origin}: array '{name}' must be numeric; got dtype {array.dtype}")
    if y.ndim not in (1, 2):
        raise DataError(f"{origin}: array 'y' must be (N,) or (N, K); got shape {y.shape}")
    if len(x) != len(y):
        raise DataError(f"{origin}: arrays 'x' and 'y' differ in length: {len(x)} and {len(y)}")
    if len(x) == 0:
        raise DataError(f"{origin} has no samples")
    if y.dtype.kind == "f":
        _check_finite(y, "y", origin)
    if x.ndim == 2:
        frame = pd.DataFrame(x.astype(np.float64), columns=[f"x{i}" for i in range(x.shape[1])])
        infinite = np.isinf(frame.to_numpy()).any(axis=1)  # NaN is fine: it gets imputed
        if infinite.any():
            raise DataError(f"{origin}: array 'x' sample {int(np.argmax(infinite))} holds "
                            "infinite values")
        return RawData(x=frame, y=y, kind="table", target="y", origin=origin,
                       extra={"dtypes": {**{c: str(x.dtype) for c in frame.columns},
                                         "y": str(y.dtype)}})
    if x.ndim not in (3, 4):
        raise DataError(f"{origin}: array 'x' must be 2-D (table), 3-D (N, T, C sequence) or "
                        f"4-D (N, C, H, W image); got shape {x.shape}")
    _check_finite(x, "x", origin)
    kind = "sequence" if x.ndim == 3 else "image"
    return RawData(x=x, y=y, kind=kind, origin=origin)


def _array(archive, name: str, path: Path) -> np.ndarray:
    try:
        return archive[name]
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"cannot read array '{name}' of {path}: {error}") from None
    except ValueError:
        # allow_pickle=False refuses object arrays: that is the point, a file must not run code
        raise DataError(f"{path}: array '{name}' holds Python objects; save it as a plain "
                        "numeric (or fixed-width text) array") from None


def _check_finite(array: np.ndarray, name: str, origin: str) -> None:
    if array.dtype.kind != "f":
        return
    # a chunk at a time: a memory-mapped array may be larger than memory
    for rows in row_chunks(np.arange(len(array)), int(np.prod(array.shape[1:]))):
        part = np.asarray(array[rows[0]:rows[-1] + 1])
        bad = ~np.isfinite(part).all(axis=tuple(range(1, array.ndim)))
        if bad.any():
            raise DataError(f"{origin}: array '{name}' sample {int(rows[0] + np.argmax(bad))} "
                            "holds NaN or infinite values")
