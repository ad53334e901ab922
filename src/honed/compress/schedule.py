"""Iterative pruning: ``steps`` rounds, each pruning a little more and fine-tuning after.

The amount grows linearly in what has been removed overall: round ``k`` of ``n`` brings the
model to ``amount * k / n``. Fine-tuning runs :func:`honed.train.fit` with the run's own train
section (optimizer, schedule, precision, EMA and other callbacks), only ``epochs`` replaced. During
fine-tuning of a magnitude-pruned model the :class:`KeepZeros` callback puts the pruned weights
back to zero after every optimizer step, so they cannot grow back.

Structured pruning fine-tunes by default (:func:`finetune_plan`): a model that lost half its
channels in one cut without training lost 69 points on digits. The rounds share as many epochs
as the run trained for (bench/prune_finetune.py, the quick start's CNN, 3 seeds): with 40% of
them (4 epochs a round) its first round (25%) lost 0.4 to 2.6 points on test and broke the
budget on val every time; with all of them (10 a round) it reached 50% in every seed, losing 0
to 0.7 points on test. Given a ``check`` (the validation metric against the budget, read with
its noise: :mod:`honed.compress.budget`), the rounds stop before the first one that breaks the
budget: the model of the last round within it is kept, at the share it reached.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from honed.compress.budget import Verdict
from honed.compress.prune import MagnitudePruner, check_amount, prunable_weights
from honed.compress.structured import StructuredPruner, prune_step
from honed.errors import UserInputError
from honed.train.callbacks.base import Callback

__all__ = ["iterative_prune", "PruneOutcome", "KeepZeros", "KeepBest", "step_amounts",
           "finetune_plan",
           "AUTO_STEPS", "AUTO_SHARE"]

#: structured pruning's default rounds, and the share of the run's epochs they fine-tune for
AUTO_STEPS = 2
AUTO_SHARE = 1.0


class KeepZeros(Callback):
    """Hold every exact zero of the prunable weights at zero while training.

    Runs before the other callbacks (EMA averages the masked weights, so its copy stays sparse).
    """

    order = -100

    def __init__(self, include_head: bool = False):
        self.include_head = include_head
        self.masks: list[tuple[torch.Tensor, torch.Tensor]] = []

    def on_fit_start(self, trainer) -> None:
        self.masks = [(getattr(m, a), getattr(m, a) != 0)
                      for m, a in prunable_weights(trainer.model, include_head=self.include_head)]

    @torch.no_grad()
    def on_batch_end(self, trainer, loss) -> None:
        for weight, mask in self.masks:
            weight.mul_(mask)


class KeepBest(Callback):
    """At the end of a fine-tuning fit, put back the weights of its best epoch (by the run's
    monitor): on a small validation split the last epoch can sit a point below the best."""

    order = 50  # after EMA has averaged the epoch's weights

    def __init__(self) -> None:
        self.best: tuple[float, dict] | None = None

    def on_epoch_end(self, trainer, record) -> None:
        from honed.train.metrics import metric_mode
        from honed.train.monitor import read_monitor

        monitor = trainer.config.monitor
        value = read_monitor(record, monitor)
        if metric_mode(monitor.split(".")[-1]) == "max":
            value = -value
        if self.best is None or value <= self.best[0]:  # a tie keeps the later epoch
            state = {k: v.detach().clone() for k, v in trainer.eval_model.state_dict().items()}
            self.best = (value, state)

    def on_fit_end(self, trainer) -> None:
        if self.best is not None:
            trainer.eval_model.load_state_dict(self.best[1])


@dataclass
class PruneOutcome:
    """The pruned model and what each round did."""

    model: nn.Module
    rounds: list[dict[str, Any]] = field(default_factory=list)
    reached: float = 0.0  # the share removed by the model kept
    stopped: str = ""  # why the rounds stopped short of ``amount`` (empty: they did not)


def finetune_plan(method: str, steps: int | None, finetune_epochs: int | None,
                  train_epochs: int) -> tuple[int, int]:
    """``(steps, finetune_epochs per step)``, the unset ones derived from the run's training.

    Structured pruning defaults to :data:`AUTO_STEPS` steps sharing as many epochs as the
    run's (:data:`AUTO_SHARE`; at least one epoch each); magnitude pruning to one step without fine-tuning (its
    zeros make nothing faster, and fine-tuning is asked for explicitly).

    Example:
        >>> finetune_plan("structured", None, None, 20)
        (2, 10)
    """
    if method != "structured":
        return steps or 1, finetune_epochs or 0
    steps = steps or AUTO_STEPS
    if finetune_epochs is None:
        finetune_epochs = max(1, math.ceil(train_epochs * AUTO_SHARE / steps))
    return steps, finetune_epochs


def step_amounts(amount: float, steps: int) -> list[float]:
    """The overall share removed after each round: ``amount * k / steps``."""
    return [amount * (k + 1) / steps for k in range(steps)]


def iterative_prune(model: nn.Module, data=None, *, method: Literal["magnitude", "structured"],
                    amount: float, steps: int = 1, finetune_epochs: int = 0,
                    scope: Literal["global", "layer"] = "global",
                    input_shape: Sequence[int] | None = None, train=None, seed: int = 0,
                    augment=None, callbacks: Sequence[Callback] = (),
                    round_to: int | None = None,
                    check: Callable[[nn.Module], Verdict] | None = None,
                    teacher: nn.Module | None = None) -> PruneOutcome:
    """Prune ``model`` to ``amount`` in ``steps`` rounds, fine-tuning after each one.

    Args:
        model: the model, changed in place (the returned model is the one to use: with EMA on,
            it is the averaged copy).
        data: prepared data (needed when ``finetune_epochs`` > 0).
        method: ``magnitude`` (zeros) or ``structured`` (channels removed).
        amount: overall share removed at the end, in [0, 1).
        steps: rounds.
        finetune_epochs: epochs of fine-tuning after each round (0: none).
        scope: one threshold for all layers (``global``) or one per ``layer``.
        input_shape: one example's shape (structured; defaults to ``data.input_shape``).
        train: the train section (``TrainSpec`` or mapping) fine-tuning uses.
        seed: data order seed of the fine-tuning fits (round k uses ``seed + k``).
        augment: the batch augmentation of the run.
        callbacks: extra training callbacks.
        round_to: structured: channel counts multiples of this (None: as they fall).
        check: ``model -> Verdict`` (:mod:`honed.compress.budget`: the validation metric
            against the budget), called after each round; the first round out of budget ends
            the pruning, keeping the round before it (a first round out of budget is kept, and
            ``stopped`` says so).
        teacher: fine-tune by distillation from this model (a copy of the unpruned one; its
            parameters are frozen), with distillation's defaults (T = 2, alpha = 0.5).
    """
    amount = check_amount(amount)
    if steps < 1:
        raise UserInputError(f"compress.prune.steps must be at least 1; got {steps}")
    if finetune_epochs and data is None:
        raise UserInputError("fine-tuning after pruning needs the training data")
    shape = input_shape or (data.input_shape if data is not None else None)
    if method == "structured" and shape is None:
        raise UserInputError("structured pruning needs input_shape (or data) to trace the model")
    if method not in ("magnitude", "structured"):
        raise UserInputError(f"compress.prune.method must be magnitude or structured; "
                             f"got {method!r}")
    outcome = PruneOutcome(model)
    removed = 0.0
    channels = None
    if method == "structured":
        # one pruner for every round: each layer's target is counted from its first width
        channels = StructuredPruner(amount, shape, scope=scope, round_to=round_to).start(
            model, steps)
    for round_index, target in enumerate(step_amounts(amount, steps)):
        previous = copy.deepcopy(model) if check is not None and round_index else None
        if channels is not None:
            prune_step(model, channels)
        elif method == "magnitude":
            # zeros already in place are the smallest weights, so the target is the overall share
            MagnitudePruner(target, scope=scope).apply(model)
        removed = target
        record: dict[str, Any] = {"round": round_index + 1, "amount": round(target, 6)}
        if finetune_epochs:
            tuned, history = _finetune(model, data, train=train, epochs=finetune_epochs,
                                       seed=seed + round_index, augment=augment,
                                       keep_zeros=method == "magnitude",
                                       callbacks=_with_teacher(callbacks, teacher))
            if tuned is not model:  # EMA's average: into the model the pruner holds
                model.load_state_dict(tuned.state_dict())
            model.eval()
            record["val"] = history[-1]["val"] if history else None
        outcome.rounds.append(record)
        if check is not None:
            verdict = check(model)
            record["budget"] = verdict.record()
            if not verdict.within:
                outcome.stopped = (f"round {round_index + 1} (share {target:.0%}) broke the "
                                   f"accuracy budget on val ({verdict})")
                if previous is not None:
                    model, removed = previous, step_amounts(amount, steps)[round_index - 1]
                    outcome.stopped += f": kept round {round_index} (share {removed:.0%})"
                break
    outcome.model = model
    outcome.reached = removed
    return outcome


def _with_teacher(callbacks: Sequence[Callback], teacher: nn.Module | None) -> list[Callback]:
    if teacher is None:
        return list(callbacks)
    from honed.compress.distill import Distill
    from honed.spec.schema import DistillSpec

    defaults = DistillSpec.model_fields
    return [*callbacks, Distill(teacher, temperature=defaults["temperature"].default,
                                alpha=defaults["alpha"].default)]


def _finetune(model: nn.Module, data, *, train, epochs: int, seed: int, augment,
              keep_zeros: bool, callbacks: Sequence[Callback]) -> tuple[nn.Module, list]:
    from honed.train import fit
    from honed.train.rng import seed_everything

    # the trainer seeds data order and augmentation; dropout draws from torch's global
    # generator, so without this the same round gave different models within one process
    seed_everything(seed)
    extra = [*callbacks, KeepBest(), *([KeepZeros()] if keep_zeros else [])]
    fields = {"epochs": epochs}
    if train is not None and getattr(train, "early_stopping", None) is not None:
        fields["early_stopping"] = None  # a few epochs of fine-tuning: all of them count
    result = fit(model, data, train=train, seed=seed, augment=augment, callbacks=extra,
                 **fields)
    trainer = result.extra["trainer"]
    final = trainer.eval_model  # the EMA average when the run uses EMA
    return final.cpu().eval(), result.history
