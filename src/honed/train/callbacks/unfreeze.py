"""Unfreeze parameters frozen for transfer learning once ``after`` epochs are done."""

from __future__ import annotations

from honed.models import unfreeze
from honed.train.callbacks.base import Callback

__all__ = ["Unfreeze"]


class Unfreeze(Callback):
    """Make every parameter trainable again at the start of epoch ``after`` (0-based).

    The optimizer already holds frozen parameters (their gradients were simply None), so nothing
    has to be rebuilt, and each trains at its group's rate: a fine-tuned backbone's at
    ``train.backbone_lr_factor`` x the head's.
    """

    def __init__(self, after: int):
        self.after = after

    def on_fit_start(self, trainer) -> None:
        if trainer.epoch >= self.after:  # resumed past the point
            unfreeze(trainer.model)

    def on_epoch_start(self, trainer) -> None:
        if trainer.epoch == self.after:
            unfreeze(trainer.model)
