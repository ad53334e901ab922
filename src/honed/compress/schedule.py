"""Iterative pruning: ``steps`` rounds, each pruning a little more and fine-tuning after.

The amount grows linearly in what has been removed overall: round ``k`` of ``n`` brings the
model to ``amount * k / n``. Fine-tuning runs :func:`honed.train.fit` with the run's own train
section (optimizer, schedule, precision, EMA and other callbacks), only ``epochs`` replaced. During
fine-tuning of a magnitude-pruned model the :class:`KeepZeros` callback puts the pruned weights
back to zero after every optimizer step, so they cannot grow back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from honed.compress.prune import MagnitudePruner, check_amount, prunable_weights
from honed.compress.structured import StructuredPruner
from honed.errors import UserInputError
from honed.train.callbacks.base import Callback

__all__ = ["iterative_prune", "PruneOutcome", "KeepZeros", "step_amounts"]


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


@dataclass
class PruneOutcome:
    """The pruned model and what each round did."""

    model: nn.Module
    rounds: list[dict[str, Any]] = field(default_factory=list)


def step_amounts(amount: float, steps: int) -> list[float]:
    """The overall share removed after each round: ``amount * k / steps``."""
    return [amount * (k + 1) / steps for k in range(steps)]


def iterative_prune(model: nn.Module, data=None, *, method: Literal["magnitude", "structured"],
                    amount: float, steps: int = 1, finetune_epochs: int = 0,
                    scope: Literal["global", "layer"] = "global",
                    input_shape: Sequence[int] | None = None, train=None, seed: int = 0,
                    augment=None, callbacks: Sequence[Callback] = ()) -> PruneOutcome:
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
    """
    amount = check_amount(amount)
    if steps < 1:
        raise UserInputError(f"compress.prune.steps must be at least 1; got {steps}")
    if finetune_epochs and data is None:
        raise UserInputError("fine-tuning after pruning needs the training data")
    shape = input_shape or (data.input_shape if data is not None else None)
    if method == "structured" and shape is None:
        raise UserInputError("structured pruning needs input_shape (or data) to trace the model")
    outcome = PruneOutcome(model)
    removed = 0.0
    for round_index, target in enumerate(step_amounts(amount, steps)):
        if method == "magnitude":
            # zeros already in place are the smallest weights, so the target is the overall share
            pruner = MagnitudePruner(target, scope=scope)
        elif method == "structured":
            # channels already gone are not counted again: cut the share of what remains
            pruner = StructuredPruner(1 - (1 - target) / (1 - removed), shape,
                                      scope="layer" if scope == "layer" else "global")
        else:
            raise UserInputError(f"compress.prune.method must be magnitude or structured; "
                                 f"got {method!r}")
        model = pruner.apply(model)
        removed = target
        record: dict[str, Any] = {"round": round_index + 1, "amount": round(target, 6)}
        if finetune_epochs:
            model, history = _finetune(model, data, train=train, epochs=finetune_epochs,
                                       seed=seed + round_index, augment=augment,
                                       keep_zeros=method == "magnitude", callbacks=callbacks)
            record["val"] = history[-1]["val"] if history else None
        outcome.rounds.append(record)
    outcome.model = model
    return outcome


def _finetune(model: nn.Module, data, *, train, epochs: int, seed: int, augment,
              keep_zeros: bool, callbacks: Sequence[Callback]) -> tuple[nn.Module, list]:
    from honed.train import fit

    extra = [*callbacks, KeepZeros()] if keep_zeros else list(callbacks)
    fields = {"epochs": epochs}
    if train is not None and getattr(train, "early_stopping", None) is not None:
        fields["early_stopping"] = None  # a few epochs of fine-tuning: all of them count
    result = fit(model, data, train=train, seed=seed, augment=augment, callbacks=extra,
                 **fields)
    trainer = result.extra["trainer"]
    final = trainer.eval_model  # the EMA average when the run uses EMA
    return final.cpu().eval(), result.history
