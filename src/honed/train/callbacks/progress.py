"""Progress display: rich bars with ETA on a terminal, one line per epoch elsewhere."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from honed.train.callbacks.base import Callback

__all__ = ["ProgressBar", "format_record", "fit_header"]


def format_record(record: dict[str, Any], keys: int = 3) -> str:
    """``train.loss 0.412  val.loss 0.388  val.accuracy 0.912`` for an epoch record."""
    parts = [f"train.loss {record['train']['loss']:.4g}"]
    for name, value in list(record["val"].items())[:keys]:
        if isinstance(value, float):
            parts.append(f"val.{name} {value:.4g}")
    return "  ".join(parts)


def fit_header(trainer) -> str:
    """``device cpu, fp32, threads 1 (auto: 2 cores, load 1.8)``: where the fit runs."""
    line = f"device {trainer.device}, {trainer.precision}"
    return f"{line}, {trainer.threads.describe()}" if trainer.threads else line


class ProgressBar(Callback):
    """Show epochs and batches with elapsed time and ETA.

    Args:
        console: where to draw; defaults to standard error so that stdout stays clean.
    """

    order = 50

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self._progress: Progress | None = None
        self._started = 0.0

    def on_fit_start(self, trainer) -> None:
        self._started = time.perf_counter()
        self._first_epoch = trainer.epoch
        self.console.print(fit_header(trainer), highlight=False, markup=False)
        if not self.live:
            return
        self._progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"), console=self.console, transient=False)
        self._progress.start()
        self._epochs = self._progress.add_task("epochs", total=trainer.config.epochs,
                                               completed=trainer.epoch, info="")
        self._batches = self._progress.add_task("batches", total=trainer.steps_per_epoch, info="")

    def on_epoch_start(self, trainer) -> None:
        if self._progress:
            self._progress.reset(self._batches, total=trainer.steps_per_epoch)

    def on_batch_end(self, trainer, loss) -> None:
        if self._progress:
            self._progress.advance(self._batches)

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        if self._progress:
            self._progress.update(self._epochs, completed=record["epoch"],
                                  info=format_record(record))
            return
        done = record["epoch"] - self._first_epoch
        elapsed = time.perf_counter() - self._started
        left = (trainer.config.epochs - record["epoch"]) * elapsed / max(done, 1)
        self.console.print(f"epoch {record['epoch']}/{trainer.config.epochs}  "
                           f"{format_record(record)}  ({record['seconds']:.1f}s, ETA {left:.0f}s)",
                           highlight=False)

    def on_fit_end(self, trainer) -> None:
        if self._progress:
            self._progress.stop()
            self._progress = None
