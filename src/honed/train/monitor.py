"""Read a monitored value such as ``val.accuracy`` out of an epoch record."""

from __future__ import annotations

from typing import Any

from honed.errors import UserInputError

__all__ = ["read_monitor", "check_monitor"]


def read_monitor(record: dict[str, Any], monitor: str) -> float:
    """``record['val']['accuracy']`` for ``monitor='val.accuracy'``."""
    split, _, name = monitor.partition(".")
    return float(record[split][name])


def check_monitor(monitor: str, available: dict[str, list[str]], *, field: str) -> None:
    """Raise a one-line error naming ``field`` when ``monitor`` is not produced by the run."""
    split, _, name = monitor.partition(".")
    if split in available and name in available[split]:
        return
    valid = ", ".join(f"{s}.{m}" for s, names in available.items() for m in names)
    raise UserInputError(f"{field} must name a metric this run produces; got {monitor!r}; "
                         f"valid: {valid}")
