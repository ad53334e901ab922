"""Optional speed-ups of the training forward pass: channels-last memory order and
``torch.compile``.

Both leave the model object itself in place: checkpoints, EMA, exports and the saved weights
see the plain module (``torch.compile`` wraps it; its state dict would carry an
``_orig_mod.`` prefix), and only the trainer's forward pass goes through the wrapper.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = ["training_forward"]


def training_forward(model: nn.Module, *, channels_last: bool = False,
                     compile: bool = False) -> Callable[[torch.Tensor], torch.Tensor]:
    """The callable the training loop runs a batch through.

    Args:
        model: The model, already on its device; with ``channels_last`` its 4-D weights are
            put in channels-last order in place (the batches follow, see
            :func:`honed.train.feed.to_device`).
        channels_last: ``train.channels_last``.
        compile: ``train.compile``: ``torch.compile(model)``, compiled at the first batch.
    """
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if compile:
        return torch.compile(model)
    return model
