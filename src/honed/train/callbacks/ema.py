"""Exponential moving average of the weights, used for validation and saved when on."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from honed.train.callbacks.base import Callback

__all__ = ["EMA"]


class EMA(Callback):
    """Keep ``shadow = decay * shadow + (1 - decay) * weights`` after every optimizer step.

    Buffers (BatchNorm statistics) are copied, not averaged. While on, the trainer validates and
    saves the averaged copy (``trainer.eval_model``).

    Args:
        decay: weight of the running average; 0.999 averages over roughly the last 1000 steps.
        warmup: use ``min(decay, (1 + n) / (10 + n))`` for the n-th update, so that early
            averages are not dominated by the random initial weights.
    """

    def __init__(self, decay: float = 0.999, *, warmup: bool = True):
        self.decay = decay
        self.warmup = warmup
        self.updates = 0
        self.module: nn.Module | None = None
        self._pending: dict[str, torch.Tensor] | None = None

    def on_fit_start(self, trainer) -> None:
        if self.module is None:
            self.module = copy.deepcopy(trainer.model).eval()
            for parameter in self.module.parameters():
                parameter.requires_grad_(False)
        if self._pending is not None:  # resumed: the checkpoint's average, not a fresh copy
            self.module.load_state_dict(self._pending)
            self._pending = None
        trainer.eval_model = self.module

    @torch.no_grad()
    def on_batch_end(self, trainer, loss) -> None:
        self.updates += 1
        decay = self.decay
        if self.warmup:
            decay = min(decay, (1 + self.updates) / (10 + self.updates))
        shadow = [p for p in self.module.parameters()]
        live = [p.detach() for p in trainer.model.parameters()]
        torch._foreach_lerp_(shadow, live, 1.0 - decay)
        for own, source in zip(self.module.buffers(), trainer.model.buffers(), strict=True):
            own.copy_(source)

    def tensors(self) -> dict[str, torch.Tensor]:
        """The averaged weights, saved in checkpoints under ``ema.``."""
        return {f"ema.{k}": v for k, v in self.module.state_dict().items()}

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        own = {k[len("ema."):]: v for k, v in tensors.items() if k.startswith("ema.")}
        if self.module is None:
            self._pending = own  # applied in on_fit_start, once the model is known
        else:
            self.module.load_state_dict(own)

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = state["updates"]
