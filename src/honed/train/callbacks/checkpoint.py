"""Write ``last`` after every epoch and ``best`` whenever the monitored metric improves."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from honed.train.callbacks.base import Callback
from honed.train.checkpoint import write_checkpoint
from honed.train.metrics import metric_mode
from honed.train.monitor import read_monitor

__all__ = ["Checkpoint"]


class Checkpoint(Callback):
    """Save resumable checkpoints into ``folder`` as ``last.safetensors`` and ``best.safetensors``.

    Runs after every other callback so that the saved state is the state at the end of the
    epoch. A non-finite monitored value never becomes ``best``; non-finite weights are never
    written (the checkpoint writer refuses them).
    """

    order = 100

    def __init__(self, folder: str | Path, *, monitor: str = "val.loss", mode: str | None = None):
        self.folder = Path(folder)
        self.monitor = monitor
        self.mode = mode or metric_mode(monitor.split(".")[-1])
        self.best: float | None = None
        self.best_epoch: int | None = None

    @property
    def last_path(self) -> Path:
        return self.folder / "last.safetensors"

    @property
    def best_path(self) -> Path:
        return self.folder / "best.safetensors"

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        value = read_monitor(record, self.monitor)
        improved = math.isfinite(value) and (
            self.best is None
            or (value < self.best if self.mode == "min" else value > self.best)
        )
        if improved:
            self.best, self.best_epoch = value, record["epoch"]
        # state() includes this callback's own state, so update it before saving
        tensors, state = trainer.checkpoint_state()
        if improved:
            write_checkpoint(self.best_path, tensors, state)
        write_checkpoint(self.last_path, tensors, state)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]
