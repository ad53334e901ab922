"""Learning-rate schedules, stepped once per optimizer step, with JSON state for checkpoints.

``create_schedule(optimizer, name="cosine", epochs=30, steps_per_epoch=50, warmup_epochs=1)``
sets every param group's ``lr`` from its *base* rate (the group's ``lr`` when the schedule is
created) and the number of optimizer steps ``s`` taken so far; the rate for ``s = 0`` is set at
creation, so the first step already runs at the warmup's start.

Warmup takes ``W = round(warmup_epochs * steps_per_epoch)`` steps (at least 1 when
``warmup_epochs > 0``, at most the whole run) and rises linearly to the schedule's own start
value ``g(0)``: ``lr(s) = g(0) * (s + 1) / (W + 1)`` for ``s < W``, so no step is wasted at
``lr = 0`` and the ramp meets ``g(0)`` exactly at ``s = W``. The schedule then runs from its own
start: ``lr(s) = g(s - W)`` over ``T = max(1, epochs * steps_per_epoch - W)`` steps.

With ``b`` a group's base rate, ``t`` the step after warmup, ``e = t / steps_per_epoch`` and
``floor = min(min_lr, b)`` (``min_lr`` is a floor for every decaying schedule; a fine-tuned
backbone's groups, which run at ``lr * backbone_lr_factor``, use ``min_lr * backbone_lr_factor``,
so the two rates keep their ratio at every step):

- ``constant``:    ``b``
- ``step``:        ``max(floor, b * gamma ** (t // (step_size * steps_per_epoch)))``
- ``exponential``: ``max(floor, b * gamma ** e)``, ×gamma per epoch, smooth per step
- ``cosine``:      ``floor + (b - floor) * (1 + cos(pi * min(t, T) / T)) / 2``
- ``onecycle``:    torch's ``OneCycleLR`` (two phases, cosine): ``peak = b * max_lr_factor``,
  ``start = peak / 25``, ``end = max(min_lr, start / 1e4)`` (at most ``peak``); rises from
  ``start`` to ``peak`` at step ``pct_start * T - 1``, falls to ``end`` at step ``T - 1``, then
  stays there.
- ``plateau``:     ``max(floor, b * factor ** k)``, ``k`` counting the reductions made by
  :meth:`Schedule.on_validation`: one after more than ``patience`` validations in a row
  without a strict improvement (torch's ``ReduceLROnPlateau`` rule, with threshold 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

import torch

from honed.errors import CheckpointError
from honed.registry import Registry
from honed.train.optim import BACKBONE_KEY

__all__ = ["Schedule", "create_schedule", "list_schedules"]


@dataclass(frozen=True)
class _Shape:
    """The knobs of a curve; ``steps`` is the length of the run after warmup."""

    steps: int
    steps_per_epoch: int
    step_size: int
    gamma: float
    min_lr: float
    max_lr_factor: float
    pct_start: float
    factor: float


# A curve maps (base lr, step after warmup, knobs, plateau reductions) to a learning rate.
_Curve = Callable[[float, int, _Shape, int], float]
_SCHEDULES: Registry[_Curve] = Registry("schedule")


@_SCHEDULES.register("constant", description="the base learning rate throughout")
def _constant(base: float, t: int, shape: _Shape, k: int) -> float:
    return base


@_SCHEDULES.register("step", description="x gamma every step_size epochs")
def _step(base: float, t: int, shape: _Shape, k: int) -> float:
    drops = t // (shape.step_size * shape.steps_per_epoch)
    return max(min(shape.min_lr, base), base * shape.gamma**drops)


@_SCHEDULES.register("exponential", description="x gamma per epoch, smooth per step")
def _exponential(base: float, t: int, shape: _Shape, k: int) -> float:
    return max(min(shape.min_lr, base), base * shape.gamma ** (t / shape.steps_per_epoch))


@_SCHEDULES.register("cosine", description="half a cosine from the base rate down to min_lr")
def _cosine(base: float, t: int, shape: _Shape, k: int) -> float:
    floor = min(shape.min_lr, base)
    return floor + (base - floor) * (1.0 + math.cos(math.pi * min(t, shape.steps) / shape.steps)) / 2


@_SCHEDULES.register(
    "onecycle", description="up to lr x max_lr_factor at pct_start, then down (torch OneCycleLR)"
)
def _onecycle(base: float, t: int, shape: _Shape, k: int) -> float:
    peak = base * shape.max_lr_factor
    start = peak / 25.0  # torch's div_factor
    end = min(peak, max(shape.min_lr, start / 1e4))  # torch's final_div_factor
    top, last = shape.pct_start * shape.steps - 1.0, float(shape.steps - 1)
    t = min(t, shape.steps - 1)
    if 0 < top and t <= top:  # top <= 0 (a very short run): no room to rise, as in torch
        return _anneal(start, peak, t / top)
    return _anneal(peak, end, (t - top) / (last - top))  # last > top as pct_start < 1


@_SCHEDULES.register("plateau", description="x factor after patience epochs without improvement")
def _plateau(base: float, t: int, shape: _Shape, k: int) -> float:
    return max(min(shape.min_lr, base), base * shape.factor**k)


def _anneal(start: float, end: float, pct: float) -> float:
    # torch's OneCycleLR._annealing_cos, term for term, so the two agree to the last bit.
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def list_schedules() -> list[tuple[str, str]]:
    """``(name, description)`` of every schedule, for ``honed list schedules``."""
    return _SCHEDULES.items()


class Schedule:
    """A learning-rate schedule bound to an optimizer; build it with :func:`create_schedule`."""

    def __init__(
        self, optimizer: torch.optim.Optimizer, name: str, curve: _Curve, shape: _Shape,
        warmup_steps: int, patience: int,
    ) -> None:
        self.optimizer, self.name = optimizer, name
        self._curve = curve
        self._shapes = [shape if BACKBONE_KEY not in group else
                        replace(shape, min_lr=shape.min_lr * group[BACKBONE_KEY])
                        for group in optimizer.param_groups]
        self.warmup_steps, self.patience = warmup_steps, patience
        self.base_lrs = [float(group["lr"]) for group in optimizer.param_groups]
        self.steps = 0  # optimizer steps taken
        # Plateau bookkeeping; best stays None (not inf) until a value arrives: JSON-safe.
        self.best: float | None = None
        self.bad_epochs = 0
        self.reductions = 0
        self._apply()

    def step(self) -> None:
        """Advance one optimizer step and set every group's learning rate for the next one."""
        self.steps += 1
        self._apply()

    def on_validation(self, value: float, mode: Literal["min", "max"]) -> None:
        """Feed one validation result (once per epoch); only ``plateau`` reacts to it.

        A NaN or infinite value never counts as an improvement.
        """
        if self.name != "plateau":
            return
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max'; got {mode!r}")
        value = float(value)
        better = math.isfinite(value) and (
            self.best is None or (value < self.best if mode == "min" else value > self.best)
        )
        if better:
            self.best, self.bad_epochs = value, 0
            return
        self.bad_epochs += 1
        if self.bad_epochs > self.patience:
            self.reductions += 1
            self.bad_epochs = 0
            self._apply()

    def lr_at(self, step: int, group: int = 0) -> float:
        """The rate of param group ``group`` at optimizer step ``step`` (pure; for plots).

        For ``plateau`` the future is unknown: the reductions made so far are assumed to hold.
        """
        base, shape = self.base_lrs[group], self._shapes[group]
        if step < self.warmup_steps:
            start = self._curve(base, 0, shape, self.reductions)
            return start * (step + 1) / (self.warmup_steps + 1)
        return self._curve(base, step - self.warmup_steps, shape, self.reductions)

    def current_lr(self, group: int = 0) -> float:
        """The rate param group ``group`` (the first by default) uses for the next step."""
        return self.lr_at(self.steps, group)

    def state_dict(self) -> dict[str, Any]:
        """Plain JSON types only: it is written into checkpoints with ``json``."""
        return {
            "name": self.name, "steps": self.steps, "base_lrs": list(self.base_lrs),
            "best": self.best, "bad_epochs": self.bad_epochs, "reductions": self.reductions,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict` output and set the groups' rates to match.

        Raises:
            CheckpointError: The state belongs to another schedule or param group layout.
        """
        if state.get("name") != self.name or len(state.get("base_lrs", ())) != len(self.base_lrs):
            raise CheckpointError(
                f"schedule state does not fit: saved {state.get('name')!r} with "
                f"{len(state.get('base_lrs', ()))} param groups, resuming {self.name!r} with "
                f"{len(self.base_lrs)}"
            )
        self.steps = int(state["steps"])
        self.base_lrs = [float(lr) for lr in state["base_lrs"]]
        self.best = None if state["best"] is None else float(state["best"])
        self.bad_epochs, self.reductions = int(state["bad_epochs"]), int(state["reductions"])
        self._apply()

    def _apply(self) -> None:
        for index, group in enumerate(self.optimizer.param_groups):
            group["lr"] = self.lr_at(self.steps, index)


def create_schedule(
    optimizer: torch.optim.Optimizer, *, name: str, epochs: int, steps_per_epoch: int,
    warmup_epochs: float = 0.0, step_size: int = 10, gamma: float = 0.1, min_lr: float = 0.0,
    max_lr_factor: float = 10.0, pct_start: float = 0.3, factor: float = 0.1, patience: int = 3,
) -> Schedule:
    """Bind the schedule ``name`` to ``optimizer`` and set the rates for the first step.

    Args:
        optimizer: Its groups' current ``lr`` values become the base rates.
        name: One of :func:`list_schedules`.
        epochs: Planned epochs; with ``steps_per_epoch`` it fixes the length of the run.
        steps_per_epoch: Optimizer steps per epoch (batches, after gradient accumulation).
        warmup_epochs: Linear warmup length, may be fractional; 0 turns it off.
        step_size: ``step``: epochs between decays.
        gamma: ``step`` / ``exponential`` decay factor.
        min_lr: Floor of every decaying schedule; ``onecycle``'s end when above torch's.
        max_lr_factor: ``onecycle`` peak = base rate x this.
        pct_start: ``onecycle`` share of the run spent rising.
        factor: ``plateau`` decay factor.
        patience: ``plateau`` validations without improvement that are tolerated.

    Raises:
        UserInputError: ``name`` is unknown.
        ValueError: ``epochs`` or ``steps_per_epoch`` is below 1, or ``pct_start`` outside (0, 1).
    """
    curve = _SCHEDULES.get(name)
    if epochs < 1 or steps_per_epoch < 1:
        raise ValueError(
            f"epochs and steps_per_epoch must be >= 1; got {epochs} and {steps_per_epoch}"
        )
    if not 0.0 < pct_start < 1.0:
        raise ValueError(f"pct_start must be in (0, 1); got {pct_start}")
    total = epochs * steps_per_epoch
    warmup = min(total, max(1, round(warmup_epochs * steps_per_epoch))) if warmup_epochs > 0 else 0
    shape = _Shape(
        steps=max(1, total - warmup), steps_per_epoch=steps_per_epoch, step_size=step_size,
        gamma=gamma, min_lr=min_lr, max_lr_factor=max_lr_factor, pct_start=pct_start,
        factor=factor,
    )
    return Schedule(optimizer, name, curve, shape, warmup, patience)
