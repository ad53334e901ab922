"""The learning-rate range test (Smith 2017; fastai's ``lr_find``).

Train for a few hundred steps while the learning rate grows exponentially from ``start_lr`` to
``end_lr``; record the loss, smooth it, and read off two points: the *steepest* descent of the
smoothed loss against log(lr), a good learning rate, and the *divergence* point, where the loss
exceeds ``diverge_factor`` times its best, an upper bound for a search.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from honed.data.dataset import PreparedData
from honed.spec.schema import TrainSpec
from honed.train.batch import pick_batch_size
from honed.train.losses import make_loss
from honed.train.optim import create_optimizer

__all__ = ["lr_find", "LRFindResult", "suggest"]


@dataclass
class LRFindResult:
    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggested_lr: float  # steepest descent of the smoothed loss
    min_loss_lr: float  # where the smoothed loss is lowest
    diverged_at: float | None  # first lr where the loss left diverge_factor x its best
    search_range: tuple[float, float]  # bounds to use for a search over lr

    def to_dict(self) -> dict:
        return asdict(self)


def lr_find(model: nn.Module, data: PreparedData, train: TrainSpec, *, start_lr: float = 1e-7,
            end_lr: float = 10.0, steps: int = 100, beta: float = 0.98,
            diverge_factor: float = 4.0, seed: int = 0) -> LRFindResult:
    """Run the range test on ``data.train`` with the optimizer of ``train``; ``model`` is changed."""
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_find needs 0 < start_lr < end_lr; got {start_lr}, {end_lr}")
    opt = train.optimizer
    optimizer = create_optimizer(model, name=opt.name, lr=start_lr, weight_decay=opt.weight_decay,
                                 momentum=opt.momentum, beta1=opt.beta1, beta2=opt.beta2,
                                 eps=opt.eps)
    loss_fn = make_loss(data.task, label_smoothing=train.label_smoothing)
    x = torch.as_tensor(np.asarray(data.train.x), dtype=torch.float32)  # a streamed split too
    y = torch.as_tensor(data.train.y)
    generator = torch.Generator().manual_seed(seed)
    batch = pick_batch_size(train.batch_size, len(x))
    ratio = (end_lr / start_lr) ** (1.0 / max(steps - 1, 1))
    lrs, losses, smoothed = [], [], []
    average, best = 0.0, math.inf
    order, cursor = torch.randperm(len(x), generator=generator), 0
    model.train()
    for step in range(steps):
        if cursor + batch > len(x):
            order, cursor = torch.randperm(len(x), generator=generator), 0
        index = order[cursor:cursor + batch]
        cursor += batch
        lr = start_lr * ratio**step
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss = loss_fn(model(x[index]), y[index])
        value = loss.item()
        if not math.isfinite(value):
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        average = beta * average + (1 - beta) * value
        current = average / (1 - beta ** (step + 1))
        lrs.append(lr)
        losses.append(value)
        smoothed.append(current)
        best = min(best, current)
        if step > 5 and current > diverge_factor * best:
            break
    return suggest(lrs, losses, smoothed, diverge_factor=diverge_factor)


def suggest(lrs: list[float], losses: list[float], smoothed: list[float], *,
            diverge_factor: float = 4.0) -> LRFindResult:
    """Read the suggested learning rate, the minimum and the divergence point off a curve."""
    if len(lrs) < 5:
        raise ValueError("the loss diverged in the first steps; lower start_lr")
    curve = np.asarray(smoothed)
    low = int(np.argmin(curve))
    skip = max(1, len(curve) // 10)  # the first steps are noise from the bias correction
    stop = max(low, skip + 2)
    slopes = np.gradient(curve[:stop], np.log10(lrs[:stop]))
    steepest = skip + int(np.argmin(slopes[skip:])) if stop > skip + 1 else low
    best = float(curve.min())
    beyond = np.nonzero(curve > diverge_factor * best)[0]
    diverged = float(lrs[int(beyond[0])]) if beyond.size and beyond[0] > low else None
    suggested = float(lrs[steepest])
    upper = float(lrs[low]) if lrs[low] > suggested else suggested * 10
    return LRFindResult(lrs=list(map(float, lrs)), losses=list(map(float, losses)),
                        smoothed=list(map(float, smoothed)), suggested_lr=suggested,
                        min_loss_lr=float(lrs[low]), diverged_at=diverged,
                        search_range=(suggested / 10, upper))
