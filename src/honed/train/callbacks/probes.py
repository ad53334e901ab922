"""Cheap training probes for ``honed doctor``: gradients, updates, dead units, loss spikes.

Once every ``every`` optimizer steps the callback reads each layer's gradient norm and its
update-to-weight ratio (``‖w_after − w_before‖ / ‖w_before‖``, the weights copied one step
earlier). While the trainer validates at the end of every epoch, forward hooks on the ReLU
modules count the units that never fire on the validation split, a fixed batch, so this costs
no forward pass of its own. It writes one JSON line per epoch to ``probes.jsonl`` and, when a
fit stops on an error (a loss that became NaN), one last ``{"event": "stopped", ...}`` line
with the error and the last batch losses.

Nothing here draws random numbers or changes the model, so a run with probes trains exactly as
one without; on resume the file is cut back to the checkpoint's epoch, and since the sampled
steps are fixed by the global step count, a resumed run writes the same lines as an
uninterrupted one.
"""

from __future__ import annotations

import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from honed.io import LineWriter, read_lines, rewrite_lines
from honed.train.callbacks.base import Callback

__all__ = ["Probes", "read_probes"]

#: modules whose zero output means a dead unit (smooth activations never output exactly zero)
_RELU_TYPES = (nn.ReLU, nn.ReLU6)
#: a batch loss this many times the epoch's median counts as a spike
SPIKE_FACTOR = 3.0
#: batch losses kept for the "stopped" line: enough to see a divergence build up
_RECENT = 20


class Probes(Callback):
    """Record gradient norms, update ratios and dead ReLU units into ``path`` once per epoch.

    Args:
        path: the JSON-lines file (``DIR/probes.jsonl``).
        every: sample gradients and updates every this many steps (cost: one norm per
            parameter tensor, one weight copy per sample).
    """

    order = 50  # before Checkpoint (100): a line is written before the epoch's checkpoint

    def __init__(self, path: str | Path, *, every: int = 10):
        self.path = Path(path)
        self.every = max(1, int(every))
        self._handles: list = []
        self._writer: LineWriter | None = None
        self._reset()

    def _reset(self) -> None:
        self._grads: dict[str, list[float]] = defaultdict(list)
        self._ratios: dict[str, list[float]] = defaultdict(list)
        self._losses: list[float] = []
        self._before: list[torch.Tensor] | None = None
        self._fired: dict[str, torch.Tensor] = {}  # ReLU module → which units fired

    # ------------------------------------------------------------------ hooks
    def on_fit_start(self, trainer) -> None:
        self._names, self._params = _layer_params(trainer.model)
        kept = [r for r in read_probes(self.path) if r.get("epoch", 0) <= trainer.epoch
                and "event" not in r]
        # an epoch that finished after the last checkpoint runs again: drop its line
        rewrite_lines(self.path, kept)
        self._writer = LineWriter(self.path)
        self._reset()

    def on_epoch_start(self, trainer) -> None:
        self._reset()  # the update of a step is only measured inside one epoch
        self._start = trainer.step
        # at least one sample per epoch, however few steps an epoch has
        self._period = max(1, min(self.every, trainer.steps_per_epoch))

    def on_batch_end(self, trainer, loss: torch.Tensor) -> None:
        self._losses.append(trainer.loss_value)  # loss.item(), read once by the trainer
        index, period = trainer.step - self._start, self._period  # 1-based step in the epoch
        if index % period == 0:
            self._sample()
        if (index + 1) % period == 0:
            with torch.no_grad():
                self._before = [p.detach().clone() for p in self._params]
        else:
            self._before = None
        if index == trainer.steps_per_epoch:
            self._watch(trainer.eval_model)  # the trainer validates next

    def on_validation_end(self, trainer, record: dict[str, Any]) -> None:
        self._unwatch()

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        line: dict[str, Any] = {"epoch": record["epoch"], "step": trainer.step,
                                "samples": len(next(iter(self._grads.values()), []))}
        line["grad_norm"] = {k: _stats(v) for k, v in self._grads.items()}
        line["update_ratio"] = {k: statistics.fmean(v) for k, v in self._ratios.items() if v}
        line["dead_units"] = {name: round(1.0 - alive.float().mean().item(), 4)
                              for name, alive in self._fired.items()}
        line["loss"] = _loss_stats(self._losses)
        self._writer.write(line)  # synced once, when the fit ends

    def on_fit_end(self, trainer) -> None:
        self._unwatch()
        if self._writer is None:
            return
        error = sys.exc_info()[1]  # called from the trainer's ``finally``: the error, if any
        if error is not None and not isinstance(error, KeyboardInterrupt):
            self._writer.write({
                "event": "stopped", "epoch": trainer.epoch + 1, "step": trainer.step,
                "error": f"{type(error).__name__}: {error}", "lr": trainer.schedule.current_lr(),
                "recent_losses": self._losses[-_RECENT:]})
        self._writer.close()

    # ------------------------------------------------------------------ internals
    def _sample(self) -> None:
        grads = [p.grad for p in self._params]
        present = [i for i, g in enumerate(grads) if g is not None]
        if not present:
            return
        before = self._before
        norm = torch.linalg.vector_norm
        with torch.no_grad():
            norms = [norm(grads[i].float()) for i in present]
            steps, weights = [], []
            if before is not None:
                steps = [norm((self._params[i].detach() - before[i]).float()) for i in present]
                weights = [norm(before[i].float()) for i in present]
            # one stack and one copy to the CPU: a single device sync per sample
            flat = torch.stack([*norms, *steps, *weights]).cpu().tolist()
        count = len(present)
        if before is None:  # gradient only: no copy of the weights one step earlier
            flat += [0.0] * (2 * count)
        squares: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        for j, i in enumerate(present):
            acc = squares[self._names[i]]
            acc[0] += flat[j] ** 2
            acc[1] += flat[count + j] ** 2
            acc[2] += flat[2 * count + j] ** 2
        for layer, (grad, step, weight) in squares.items():
            self._grads[layer].append(math.sqrt(grad))
            if weight > 0:
                self._ratios[layer].append(math.sqrt(step) / math.sqrt(weight))

    def _watch(self, model: nn.Module) -> None:
        """Hook every ReLU module: a unit is alive once it outputs > 0 for any row."""
        self._unwatch()
        self._fired = {}

        def hook(name: str):
            def record(module, inputs, output):
                if not isinstance(output, torch.Tensor) or output.ndim < 2:
                    return
                # a unit is a feature (dense) or a channel (conv, dim 1)
                alive = (output > 0).flatten(2).any(-1) if output.ndim > 2 else output > 0
                alive = alive.any(0)
                seen = self._fired.get(name)
                self._fired[name] = alive if seen is None else seen | alive
            return record

        self._handles = [module.register_forward_hook(hook(name))
                         for name, module in model.named_modules()
                         if isinstance(module, _RELU_TYPES)]

    def _unwatch(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def read_probes(path: str | Path) -> list[dict[str, Any]]:
    """The lines of a ``probes.jsonl`` (empty when missing); a torn last line is skipped."""
    return read_lines(path)


def _layer_params(model: nn.Module) -> tuple[list[str], list[nn.Parameter]]:
    """Parameters and the module (layer) each belongs to, e.g. ``body.0``.

    Frozen ones are listed too (``model.unfreeze_after`` may thaw them); they have no gradient
    while frozen and are skipped then.
    """
    names, params = [], []
    for name, param in model.named_parameters():
        names.append(name.rsplit(".", 1)[0] if "." in name else name)
        params.append(param)
    return names, params


def _stats(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "max": max(values)}


def _loss_stats(losses: list[float]) -> dict[str, float]:
    finite = [v for v in losses if math.isfinite(v)]
    if not finite:
        return {}
    median = statistics.median(finite)
    spikes = sum(v > SPIKE_FACTOR * median for v in finite) if median > 0 else 0
    return {"first": finite[0], "last": finite[-1], "median": median, "max": max(finite),
            "std": _pstdev(finite), "spikes": spikes}


def _pstdev(values: list[float]) -> float:
    """Population standard deviation in plain floats (``statistics.pstdev`` is exact, with
    fractions: 1.5 ms per 1,000 batch losses, every epoch)."""
    mean = statistics.fmean(values)
    return math.sqrt(statistics.fmean([(v - mean) ** 2 for v in values]))
