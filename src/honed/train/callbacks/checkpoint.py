"""Save ``last`` on a policy (every N epochs or seconds) and ``best`` with it.

Writing a checkpoint costs a serialization and two fsyncs: more than a whole epoch of a small
model. So the state at the end of every epoch is only copied in memory, and written when the
policy says so, when the fit ends, and when it stops on Ctrl-C, SIGTERM (``honed train``
turns it into Ctrl-C) or an error; then the copy of the last finished epoch is written, so
only the epoch in progress is lost. A kill the process cannot see (SIGKILL, power loss) loses
the epochs since the last write: at most ``every_epochs``, or ``every_seconds`` plus the epoch
in progress.

``best`` is written only together with ``last`` (just before it), so the two files never
disagree about which epoch is best, and a resumed run that reruns an epoch writes the same
``best`` again.
"""

from __future__ import annotations

import copy
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from honed.train.callbacks.base import Callback
from honed.train.checkpoint import write_checkpoint
from honed.train.metrics import metric_mode
from honed.train.monitor import read_monitor

__all__ = ["Checkpoint"]


@dataclass
class _Snapshot:
    """The trainer's state at the end of one epoch, copied so that training can go on."""

    epoch: int
    tensors: dict[str, torch.Tensor]
    state: dict[str, Any]


class Checkpoint(Callback):
    """Save resumable checkpoints into ``folder`` as ``last.safetensors`` and ``best.safetensors``.

    Runs after every other callback so that the saved state is the state at the end of the
    epoch. A non-finite monitored value never becomes ``best``; non-finite weights are never
    written (the checkpoint writer refuses them).

    Args:
        folder: where the two files go.
        monitor: ``split.metric`` that picks ``best``.
        mode: ``min`` or ``max``; inferred from the metric's name when None.
        every_epochs: write after this many epochs since the last write.
        every_seconds: write at the end of the first epoch this long after the last write.
            Both None: only after the first epoch, at the end and on an interruption.
    """

    order = 100

    def __init__(self, folder: str | Path, *, monitor: str = "val.loss", mode: str | None = None,
                 every_epochs: int | None = 1, every_seconds: float | None = None):
        self.folder = Path(folder)
        self.monitor = monitor
        self.mode = mode or metric_mode(monitor.split(".")[-1])
        self.every_epochs = every_epochs
        self.every_seconds = every_seconds
        self.best: float | None = None
        self.best_epoch: int | None = None
        self._latest: _Snapshot | None = None  # not written yet
        self._best: _Snapshot | None = None  # not written yet
        self._spare: dict[str, torch.Tensor] = {}  # a written or dropped snapshot's tensors
        self._saved_epoch = 0
        self._saved_at = 0.0
        self._fresh = False  # the fit started at epoch 0 (not resumed)

    @property
    def last_path(self) -> Path:
        return self.folder / "last.safetensors"

    @property
    def best_path(self) -> Path:
        return self.folder / "best.safetensors"

    def on_fit_start(self, trainer) -> None:
        self._latest = self._best = None
        self._saved_epoch, self._saved_at = trainer.epoch, time.monotonic()
        self._fresh = trainer.epoch == 0

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        value = read_monitor(record, self.monitor)
        improved = math.isfinite(value) and (
            self.best is None
            or (value < self.best if self.mode == "min" else value > self.best)
        )
        if improved:
            self.best, self.best_epoch = value, record["epoch"]
        # state() includes this callback's own state, so update it before taking it
        previous = self._latest
        self._latest = _snapshot(trainer, self._spare)
        self._spare = {}
        if improved:
            self._best = self._latest
        if previous is not None and previous is not self._best:
            self._spare = previous.tensors  # dropped unwritten: its buffers take the next copy
        if self._due(trainer.epoch):
            self._write()

    def on_fit_end(self, trainer) -> None:
        if self._latest is None:
            return
        if sys.exc_info()[1] is None:  # called from the trainer's ``finally``
            self._write()
            return
        try:  # interrupted or failed: keep the last finished epoch
            self._write()
        except Exception:  # noqa: BLE001 - the error in flight is the one to report
            pass

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = state["best"], state["best_epoch"]

    # ------------------------------------------------------------------ internals
    def _due(self, epoch: int) -> bool:
        if self._fresh and self._saved_epoch == 0:
            return True  # something to resume from early, and a full disk shows at once
        if self.every_epochs is not None and epoch - self._saved_epoch >= self.every_epochs:
            return True
        return (self.every_seconds is not None
                and time.monotonic() - self._saved_at >= self.every_seconds)

    def _write(self) -> None:
        latest, best = self._latest, self._best
        if best is not None:
            write_checkpoint(self.best_path, best.tensors, best.state)
            self._best = None
        write_checkpoint(self.last_path, latest.tensors, latest.state)
        self._latest = None
        self._spare = latest.tensors  # written (serialized whole): free to overwrite
        self._saved_epoch, self._saved_at = latest.epoch, time.monotonic()


def _snapshot(trainer, spare: dict[str, torch.Tensor]) -> _Snapshot:
    """A copy of ``trainer.checkpoint_state()`` that later training steps leave alone.

    The tensors are copied into ``spare``'s CPU tensors of the same name, shape and dtype
    (those of a snapshot nothing refers to any more) instead of newly allocated ones.
    """
    tensors, state = trainer.checkpoint_state()
    tensors = {name: _copy(tensor, spare.get(name)) for name, tensor in tensors.items()}
    # the trainer builds the optimizer, schedule, scaler and RNG entries anew for each call and
    # appends finished records to its history; only callbacks might hand out their own objects
    state = {**state, "history": list(state["history"]),
             "callbacks": copy.deepcopy(state["callbacks"])}
    return _Snapshot(epoch=state["epoch"], tensors=tensors, state=state)


def _copy(tensor: torch.Tensor, buffer: torch.Tensor | None) -> torch.Tensor:
    """``tensor`` copied onto the CPU, into ``buffer`` when it fits."""
    tensor = tensor.detach()
    if (buffer is not None and buffer.shape == tensor.shape and buffer.dtype == tensor.dtype
            and buffer.is_contiguous()):
        return buffer.copy_(tensor)
    # clone() on the CPU: to("cpu", copy=True) took 2.5 times as long for small tensors
    return tensor.clone() if tensor.device.type == "cpu" else tensor.to("cpu")
