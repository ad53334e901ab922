"""Progress display: rich bars with ETA on a terminal, one line per epoch elsewhere.

Either way the epoch's metrics start with the monitored one (the metric that picks the best
epoch) and are cut to the console's width, so that an 80-column terminal shows them whole.
"""

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
from rich.text import Text

from honed.train.callbacks.base import Callback

__all__ = ["ProgressBar", "format_record", "fit_header"]


def format_record(record: dict[str, Any], *, monitor: str | None = None,
                  width: int = 80) -> str:
    """``val.f1 0.91  train.loss 0.412  val.loss 0.388 ...``: the monitored metric first.

    Metrics are added in that order (then the other validation metrics as the record holds
    them) while the line stays within ``width`` characters; a metric is left out whole rather
    than cut.
    """
    values: dict[str, Any] = {f"val.{k}": v for k, v in record.get("val", {}).items()}
    values = {"train.loss": record["train"]["loss"], **values}
    if monitor in values:
        values = {monitor: values.pop(monitor), **values}
    parts: list[str] = []
    for name, value in values.items():
        if not isinstance(value, float):
            continue  # a confusion matrix, a count
        part = f"{name} {value:.4g}"
        if len("  ".join([*parts, part])) > width:
            break
        parts.append(part)
    return "  ".join(parts)


def fit_header(trainer) -> str:
    """``device cpu, fp32, threads 1 (auto: 2 cores, load 1.8)``: where the fit runs.

    Under DDP (shown by rank 0 only) it starts ``rank 0 of 2 (gloo), ``.
    """
    line = f"device {trainer.device}, {trainer.precision}"
    group = getattr(trainer, "context", None)  # a DistributedTrainer's place in its group
    if group is not None:
        line = f"rank {group.rank} of {group.world_size} ({group.backend}), {line}"
    return f"{line}, {trainer.threads.describe()}" if trainer.threads else line


class _Bars(Progress):
    """Rich bars with the last epoch's metrics on a line of their own, below the bars.

    A metrics column in the bars' table would take the width from the other columns: rich
    squeezes the table to the terminal, which cut ``epochs`` down to ``ep…`` at 80 columns.
    """

    metrics = ""

    def get_renderables(self):
        yield self.make_tasks_table(self.tasks)
        if self.metrics:
            yield Text(self.metrics, no_wrap=True, overflow="ellipsis")


class ProgressBar(Callback):
    """Show epochs and batches with elapsed time and ETA.

    Args:
        console: where to draw; defaults to standard error so that stdout stays clean.
    """

    order = 50

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.live = self.console.is_terminal
        self._progress: _Bars | None = None
        self._started = 0.0

    def on_fit_start(self, trainer) -> None:
        self._started = time.perf_counter()
        self._first_epoch = trainer.epoch
        self.console.print(fit_header(trainer), highlight=False, markup=False)
        if not self.live:
            return
        # about 70 columns in all, so that the bars fit an 80-column terminal
        self._progress = _Bars(
            TextColumn("[bold]{task.description:<7}"), BarColumn(bar_width=28),
            MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=self.console, transient=False)
        self._progress.start()
        self._epochs = self._progress.add_task("epochs", total=trainer.config.epochs,
                                               completed=trainer.epoch)
        self._batches = self._progress.add_task("batches", total=trainer.steps_per_epoch)

    def on_epoch_start(self, trainer) -> None:
        if self._progress:
            self._progress.reset(self._batches, total=trainer.steps_per_epoch)

    def on_batch_end(self, trainer, loss) -> None:
        if self._progress:
            self._progress.advance(self._batches)

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        monitor = trainer.config.monitor
        if self._progress:
            self._progress.metrics = format_record(record, monitor=monitor,
                                                   width=self.console.width)
            self._progress.update(self._epochs, completed=record["epoch"])
            return
        done = record["epoch"] - self._first_epoch
        elapsed = time.perf_counter() - self._started
        left = (trainer.config.epochs - record["epoch"]) * elapsed / max(done, 1)
        head = f"epoch {record['epoch']}/{trainer.config.epochs}  "
        tail = f"  ({record['seconds']:.1f}s, ETA {left:.0f}s)"
        room = self.console.width - len(head) - len(tail)
        self.console.print(f"{head}{format_record(record, monitor=monitor, width=room)}{tail}",
                           highlight=False)

    def on_fit_end(self, trainer) -> None:
        if self._progress:
            self._progress.stop()
            self._progress = None
