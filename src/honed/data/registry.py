"""Named data sets: ``register_dataset`` / ``list_datasets`` / ``load_builtin``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from honed.errors import DataError
from honed.registry import Registry

from .raw import RawData

__all__ = ["DatasetInfo", "register_dataset", "list_datasets", "load_builtin"]

Loader = Callable[[], "RawData | tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class DatasetInfo:
    """What ``honed list datasets`` shows about one named data set.

    Attributes:
        name: What follows ``builtin:`` in ``data.source``.
        description: One line.
        task: ``classification``, ``regression`` or ``forecasting``.
        kind: ``table``, ``image``, ``sequence``, or ``series`` (a time series that forecasting
            cuts into sequence windows).
        shape: Shape of one raw sample: ``(F,)`` table, ``(C, H, W)`` image, ``(T, C)``
            sequence, ``(C,)`` one time step of a series; ``None`` when not declared.
        size: Number of samples (time steps for a series); ``None`` when not declared.
    """

    name: str
    description: str
    task: str
    kind: str
    shape: tuple[int, ...] | None = None
    size: int | None = None


@dataclass(frozen=True)
class _Entry:
    info: DatasetInfo
    loader: Loader


_DATASETS: Registry[_Entry] = Registry("dataset")


def register_dataset(name: str, *, description: str, task: str, kind: str,
                     shape: tuple[int, ...] | None = None,
                     size: int | None = None) -> Callable[[Loader], Loader]:
    """Decorator that makes a loader available as ``builtin:NAME``.

    The loader takes no arguments and returns a :class:`~honed.data.RawData`, or a pair of
    arrays ``(x, y)`` whose shape decides the kind (2-D table, 3-D sequence ``(N, T, C)``,
    4-D image ``(N, C, H, W)``). It must not download anything.

    Example:
        >>> @register_dataset("xor", description="4 points", task="classification", kind="table")
        ... def xor():
        ...     return np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 10), np.array([0, 1, 1, 0] * 10)
    """

    def decorator(loader: Loader) -> Loader:
        info = DatasetInfo(name, description, task, kind,
                           tuple(shape) if shape is not None else None, size)
        _DATASETS.add(name, _Entry(info, loader), description=description)
        return loader

    return decorator


def list_datasets() -> list[DatasetInfo]:
    """Every registered data set, sorted by name."""
    _ensure_builtins()
    return sorted((_DATASETS.get(name).info for name in _DATASETS.names()), key=lambda i: i.name)


def load_builtin(name: str) -> RawData:
    """Load a registered data set (a private copy: callers may change it freely).

    Raises:
        DataError: ``name`` is not registered; the message lists the valid names.
    """
    entry = _entry(name)
    result = entry.loader()
    if isinstance(result, RawData):
        raw = result.copy()
    else:
        from .arrays import raw_from_arrays

        x, y = result
        raw = raw_from_arrays(np.array(x), np.array(y), origin=f"builtin:{name}")
    raw.origin = f"builtin:{name}"
    if raw.task is None and entry.info.task:
        raw.task = entry.info.task
    return raw


def _entry(name: str) -> _Entry:
    _ensure_builtins()
    if name not in _DATASETS:
        valid = ", ".join(sorted(_DATASETS.names()))
        raise DataError(f"unknown dataset 'builtin:{name}'; built-in datasets: {valid}")
    return _DATASETS.get(name)


def _ensure_builtins() -> None:
    # The built-in loaders register themselves on import; importing here (not at the top)
    # keeps this module free of an import cycle with builtin.py.
    from . import builtin  # noqa: F401
