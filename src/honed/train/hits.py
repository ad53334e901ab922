"""Counting an epoch's correct predictions in the training loop."""

from __future__ import annotations

import torch

__all__ = ["Hits"]


class Hits:
    """Correct predictions of an epoch, counted a few batches at a time.

    Counting each batch on its own costs four small tensor operations per step, as much as
    a tiny model's forward pass; the outputs are kept (detached) until they hold
    ``FLUSH_ELEMENTS`` numbers, then counted in one go. Integer counts: the same number.
    """

    FLUSH_ELEMENTS = 1 << 20

    def __init__(self, device: torch.device) -> None:
        self.correct = torch.zeros((), dtype=torch.long, device=device)
        self._outputs: list[torch.Tensor] = []
        self._targets: list[torch.Tensor] = []
        self._held = 0

    def add(self, outputs: torch.Tensor, y: torch.Tensor) -> None:
        self._outputs.append(outputs.detach())
        self._targets.append(y.argmax(1) if y.ndim == 2 else y)
        self._held += outputs.numel()
        if self._held >= self.FLUSH_ELEMENTS:
            self._flush()

    def count(self) -> torch.Tensor:
        """Every batch's hits so far, as a 0-d long tensor on the device."""
        self._flush()
        return self.correct

    def _flush(self) -> None:
        if not self._outputs:
            return
        outputs, targets = torch.cat(self._outputs), torch.cat(self._targets)
        self.correct += (outputs.argmax(1) == targets).sum()
        self._outputs, self._targets, self._held = [], [], 0
