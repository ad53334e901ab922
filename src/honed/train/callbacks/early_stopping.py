"""Stop training when a monitored metric has not improved for ``patience`` epochs."""

from __future__ import annotations

import math
from typing import Any

from honed.train.callbacks.base import Callback
from honed.train.metrics import metric_mode
from honed.train.monitor import read_monitor

__all__ = ["EarlyStopping"]


class EarlyStopping(Callback):
    """Stop after ``patience`` epochs without an improvement larger than ``min_delta``.

    Args:
        monitor: ``split.metric``, e.g. ``val.loss`` or ``val.accuracy``.
        patience: epochs to wait after the last improvement.
        min_delta: smallest change that counts as an improvement.
        mode: ``min`` or ``max``; inferred from the metric's name when None.
    """

    def __init__(self, monitor: str = "val.loss", *, patience: int = 5, min_delta: float = 0.0,
                 mode: str | None = None):
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode or metric_mode(monitor.split(".")[-1])
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0

    def on_validation_end(self, trainer, record: dict[str, Any]) -> None:
        value = read_monitor(record, self.monitor)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, record["epoch"], 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.request_stop(
                f"early stopping: {self.monitor} did not improve for {self.patience} epochs "
                f"(best {self.best:.6g} at epoch {self.best_epoch})"
            )

    def _improved(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
