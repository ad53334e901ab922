"""Append one JSON line per epoch to ``history.jsonl``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from honed.io import append_line, atomic_write_text
from honed.train.callbacks.base import Callback

__all__ = ["HistoryLogger"]


class HistoryLogger(Callback):
    """Write every epoch record to ``path`` as it finishes.

    On resume the file is rewritten from the checkpoint's history first, so that an epoch that
    finished after the last checkpoint (and will run again) is not listed twice.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def on_fit_start(self, trainer) -> None:
        import json

        lines = "".join(json.dumps(record) + "\n" for record in trainer.history)
        atomic_write_text(self.path, lines)

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        append_line(self.path, record)
