"""Append one JSON line per epoch to ``history.jsonl``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from honed.io import LineWriter, rewrite_lines
from honed.train.callbacks.base import Callback

__all__ = ["HistoryLogger"]


class HistoryLogger(Callback):
    """Write every epoch record to ``path`` as it finishes.

    On resume the file is rewritten from the checkpoint's history first, so that an epoch that
    finished after the last checkpoint (and will run again) is not listed twice. Lines reach
    the operating system at every epoch (a killed process loses none) but are fsynced only when
    the fit ends: the checkpoint holds the history too, and a resume rewrites the file from it,
    so the two always agree.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._writer: LineWriter | None = None

    def on_fit_start(self, trainer) -> None:
        rewrite_lines(self.path, trainer.history)
        self._writer = LineWriter(self.path)

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        self._writer.write(record)

    def on_fit_end(self, trainer) -> None:
        if self._writer is not None:
            self._writer.close()
