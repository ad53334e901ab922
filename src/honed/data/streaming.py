"""Model inputs computed batch by batch, for data sets larger than memory.

A streamed split holds :class:`LazyInputs` as its ``x``: the raw source (image files decoded
on demand, or a memory-mapped ``.npy`` array) plus the split's rows and the fitted
``preprocess``. Indexing it runs :func:`honed.data.transform.apply_preprocess` on just those
rows, the same element-wise float64 arithmetic that builds an in-memory split, so a batch holds
the very float32 values the in-memory path would: results are bit-identical on CPU.

Whether a source streams is decided once, when it is read (:func:`should_stream`):
``data.stream: true`` or ``false`` says so; ``auto`` streams when the decoded data (raw plus
float32 model inputs) would take more than :data:`MEMORY_SHARE` of the memory this process may
still use.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from honed.cgroups import memory_room

__all__ = ["LazyInputs", "should_stream", "memory_budget", "row_chunks", "MEMORY_SHARE",
           "CHUNK_BYTES"]

#: ``data.stream: auto`` streams data whose decoded size exceeds this share of the free memory
MEMORY_SHARE = 0.25
#: float64 bytes per chunk when statistics or checks pass over a whole source
CHUNK_BYTES = 2 << 20


def memory_budget() -> int:
    """Bytes this process can still take: the least of free memory (``MemAvailable``), the
    cgroup's limit less its use, and the address-space limit (``ulimit -v``) less its size."""
    limits = [_meminfo("MemAvailable") or _pages("SC_AVPHYS_PAGES")]
    limits.append(memory_room())
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(max(soft - (_status_kb("VmSize") or 0) * 1024, 0))
    return int(min(v for v in limits if v is not None))


def should_stream(setting: bool | str, decoded_bytes: int) -> bool:
    """``data.stream`` applied: ``auto`` streams when ``decoded_bytes`` is too much to hold."""
    if setting == "auto":
        return decoded_bytes > MEMORY_SHARE * memory_budget()
    return bool(setting)


def row_chunks(rows: np.ndarray, row_values: int = 1) -> Iterator[np.ndarray]:
    """``rows`` in consecutive pieces of at most :data:`CHUNK_BYTES` as float64, for rows of
    ``row_values`` values each (the pieces depend on the shape only, never on the source)."""
    size = max(1, CHUNK_BYTES // (8 * max(1, row_values)))
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


class LazyInputs:
    """The float32 model inputs of one split, computed when indexed.

    Args:
        source: The raw inputs: anything that takes a 1-D array of row numbers and returns
            those rows as an array (an :class:`honed.data.images.ImageFiles`, a memory map).
        rows: The source rows of this split, in split order.
        preprocess: The fitted recipe of :func:`honed.data.transform.apply_preprocess`.
        workers: ``data.workers``, DataLoader worker processes that compute training batches;
            ``auto`` is resolved where the loader starts (:mod:`honed.data.loader_workers`).
        prefetch: Batches each worker computes ahead (``data.prefetch``).
    """

    dtype = np.dtype(np.float32)

    def __init__(self, source: Any, rows: np.ndarray, preprocess: Mapping[str, Any], *,
                 workers: int | str = "auto", prefetch: int = 2) -> None:
        self.source, self.rows, self.preprocess = source, np.asarray(rows), dict(preprocess)
        self.workers = workers if workers == "auto" else int(workers)
        self.prefetch = int(prefetch)
        self.shape = (len(self.rows), *self.preprocess["input_shape"])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key) -> np.ndarray:
        """Rows ``key`` (an int, a slice or an array of positions) as float32 model inputs."""
        from .transform import apply_preprocess

        if isinstance(key, (int, np.integer)):
            return self[np.asarray([key])][0]
        positions = self.rows[key] if isinstance(key, slice) else self.rows[np.asarray(key)]
        if len(positions) == 0:
            return np.empty((0, *self.shape[1:]), dtype=np.float32)
        return apply_preprocess(self.preprocess, self.source[positions])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        """Every row at once, for code that needs a plain array (baselines, explain)."""
        out = np.empty(self.shape, dtype=np.float32)
        for chunk in row_chunks(np.arange(len(self)), int(np.prod(self.shape[1:]))):
            out[chunk] = self[chunk]
        return out if dtype is None else out.astype(dtype)

    def __getstate__(self) -> dict:
        """A memory map travels to a worker process as its file name, never as its data."""
        state = dict(self.__dict__)
        if isinstance(self.source, np.memmap) and self.source.filename:
            state["source"] = _Reopen(str(self.source.filename))
        return state

    def __setstate__(self, state: dict) -> None:
        if isinstance(state["source"], _Reopen):
            state["source"] = np.load(state["source"].path, mmap_mode="r", allow_pickle=False)
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return (f"LazyInputs({len(self)} rows of {self.shape[1:]}, workers={self.workers}, "
                f"prefetch={self.prefetch})")


class _Reopen:
    """The ``.npy`` file a memory map is opened from again after pickling."""

    def __init__(self, path: str) -> None:
        self.path = path


def _meminfo(key: str) -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _pages(name: str) -> int | None:
    try:
        return os.sysconf(name) * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None
