"""Training losses by task, and the explicit L1/L2 penalty.

Losses are computed in float32 even when the forward pass runs in bf16/fp16: a reduction over
a batch in half precision loses digits the optimizer then follows. The callables are
``functools.partial`` objects over module functions, so they pickle (spawned workers, DDP).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from honed.errors import UserInputError

__all__ = ["make_loss", "penalty"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _cross_entropy(
    outputs: torch.Tensor, targets: torch.Tensor, *, label_smoothing: float
) -> torch.Tensor:
    if targets.is_floating_point():
        # Soft targets (N, C) from mixup; torch smooths them as (1 - e) * t + e / C.
        if targets.shape != outputs.shape:
            raise ValueError(f"soft targets {tuple(targets.shape)} must match the outputs "
                             f"{tuple(outputs.shape)}")
        targets = targets.float()
    else:
        targets = targets.long()  # int32/uint8 labels are fine upstream; torch wants int64
    return F.cross_entropy(outputs.float(), targets, label_smoothing=label_smoothing)


def _mse(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if targets.shape != outputs.shape:
        if targets.numel() != outputs.numel():
            raise ValueError(f"targets {tuple(targets.shape)} do not fit the outputs "
                             f"{tuple(outputs.shape)}")
        # (N,) targets against (N, 1) outputs would otherwise broadcast to (N, N): a silent,
        # classic bug that trains towards the mean.
        targets = targets.reshape(outputs.shape)
    return F.mse_loss(outputs.float(), targets.float())


def make_loss(task: str, *, label_smoothing: float = 0.0) -> LossFn:
    """The training loss of ``task``, mean over the batch.

    Args:
        task: ``classification`` (cross-entropy over logits ``(N, C)``, targets int64 class
            indices ``(N,)`` or float soft targets ``(N, C)``), ``regression`` or
            ``forecasting`` (mean squared error over every output value).
        label_smoothing: Share of the target mass spread evenly over the classes
            (classification only).

    Returns:
        ``loss(outputs, targets) -> scalar tensor``.

    Raises:
        UserInputError: Unknown task, or label smoothing asked of a regression task.
    """
    if task == "classification":
        if not 0.0 <= label_smoothing < 1.0:
            raise UserInputError(f"train.label_smoothing must be in [0, 1); got {label_smoothing}")
        return partial(_cross_entropy, label_smoothing=float(label_smoothing))
    if task in ("regression", "forecasting"):
        if label_smoothing:
            raise UserInputError(
                f"train.label_smoothing applies to classification only; got {label_smoothing} "
                f"for a {task} task"
            )
        return _mse
    raise UserInputError(
        f"unknown task {task!r}; choose one of: classification, regression, forecasting"
    )


def penalty(model: nn.Module, *, l1: float = 0.0, l2: float = 0.0) -> torch.Tensor | None:
    """Explicit ``l1 * sum|w| + l2 * sum w^2``, to add to the loss.

    Only weights (``ndim > 1``: linear, convolution, recurrent and embedding matrices) are
    penalized: biases and normalization scales set offsets and scales, and shrinking them
    towards 0 hurts fit without reducing capacity. Frozen parameters are left out: their
    penalty is a constant with no gradient. Note ``l2`` multiplies ``sum w^2`` (no 1/2), so
    its gradient is ``2 * l2 * w``.

    Returns:
        A scalar tensor, or ``None`` when ``l1`` and ``l2`` are both 0 or nothing is
        penalized, so that the training step can skip the addition entirely.
    """
    if l1 == 0.0 and l2 == 0.0:
        return None
    weights = [p for p in model.parameters() if p.ndim > 1 and p.requires_grad]
    if not weights:
        return None
    # Python's sum lets torch promote mixed dtypes (a bf16 block next to fp32 ones).
    total = torch.zeros((), device=weights[0].device)
    if l1:
        total = total + l1 * sum(w.abs().sum() for w in weights)
    if l2:
        total = total + l2 * sum(w.square().sum() for w in weights)
    return total
