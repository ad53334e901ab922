"""Predictions and metrics of a model on one split, in batches, without gradients."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from honed.data.streaming import CHUNK_BYTES, LazyInputs
from honed.train.losses import make_loss
from honed.train.metrics import compute_metrics
from honed.train.precision import autocast

__all__ = ["predict", "evaluate_arrays", "score_outputs"]

EVAL_BATCH = 1024


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray | torch.Tensor, *, device: torch.device | str = "cpu",
            precision: str = "fp32", batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Raw model outputs (logits or scaled values) for ``x``, as a float32 CPU tensor.

    ``x`` may be a streamed split (:class:`honed.data.streaming.LazyInputs`): its batches are
    then computed by DataLoader workers as in training, never all at once.
    """
    from honed.train.feed import make_feed, to_device

    device = torch.device(device)
    was_training = model.training
    model.eval()
    if isinstance(x, LazyInputs):  # its batches are computed in float64: keep them small
        batch_size = min(batch_size, max(1, CHUNK_BYTES // (8 * int(np.prod(x.shape[1:])))))
        feed = make_feed(x, device=device)
        batches = (batch for batch, _ in feed.batches(torch.arange(len(x)).split(batch_size)))
    else:  # in memory: consecutive rows are slices, nothing to gather (the same numbers)
        feed = None
        rows = torch.as_tensor(x, dtype=torch.float32)
        batches = (to_device(part.contiguous(), None, device)[0]
                   for part in rows.split(batch_size))
    outputs = []
    try:
        for batch in batches:
            with autocast(precision, device):
                outputs.append(model(batch).float().cpu())
    finally:
        model.train(was_training)
        if feed is not None:
            feed.close()
    if not outputs:
        return torch.empty(0)
    return torch.cat(outputs)


def evaluate_arrays(model: nn.Module, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor,
                    *, task: str, target_scale=None, device: torch.device | str = "cpu",
                    precision: str = "fp32", with_confusion: bool = False) -> dict:
    """Loss and every metric of ``task`` on ``(x, y)``.

    The loss is computed in the model's own (scaled) units and without label smoothing;
    regression metrics are reported in the target's original units.
    """
    outputs = predict(model, x, device=device, precision=precision)
    return score_outputs(outputs, y, task=task, target_scale=target_scale,
                         with_confusion=with_confusion)


def score_outputs(outputs: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, *,
                  task: str, target_scale=None, with_confusion: bool = False) -> dict:
    """Loss and every metric of ``task`` for outputs already computed (a model's or a baseline's).

    ``outputs`` are in the model's units: logits (or log-probabilities) for classification,
    scaled values for regression and forecasting.
    """
    outputs = torch.as_tensor(outputs, dtype=torch.float32)
    targets = torch.as_tensor(y)
    loss = float(make_loss(task)(outputs, targets))
    metrics = {"loss": loss}
    metrics.update(compute_metrics(task, targets.numpy(), outputs.numpy(),
                                   target_scale=target_scale))
    if with_confusion and task == "classification":
        from honed.train.metrics import confusion_matrix

        metrics["confusion_matrix"] = confusion_matrix(
            targets.numpy(), outputs.argmax(1).numpy(), outputs.shape[1])
    return metrics
