"""Mixup (Zhang et al., 2018): train on convex mixes of pairs of samples and of their targets."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["Mixup", "beta_draw"]


class Mixup:
    """Mixes each sample with another from the same batch: ``lam * a + (1 - lam) * b``.

    One ``lam ~ Beta(alpha, alpha)`` per batch. torch's Beta and Gamma samplers take no
    generator, so ``lam`` is drawn by a NumPy generator seeded from the torch generator: the
    draw is still fully decided by the generator's state.

    Args:
        alpha: Beta concentration; small values keep mixes close to one of the pair.
        num_classes: For classification: class indices become one-hot, mixed into soft targets
            ``(N, num_classes)``. ``None`` mixes numeric targets linearly.
    """

    def __init__(self, alpha: float, num_classes: int | None = None) -> None:
        self.alpha = float(alpha)
        self.num_classes = num_classes

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        lam, perm = self.draw(x, generator)
        return lam * x + (1.0 - lam) * x[perm], self.mix_targets(y, perm, lam)

    def draw(self, x: torch.Tensor, generator: torch.Generator) -> tuple[float, torch.Tensor]:
        """``lam ~ Beta(alpha, alpha)`` and each sample's partner in the batch."""
        lam = beta_draw(self.alpha, generator)
        perm = torch.randperm(x.shape[0], generator=generator, device=generator.device)
        return lam, perm.to(x.device)

    def mix_targets(self, y: torch.Tensor, perm: torch.Tensor, share: float) -> torch.Tensor:
        """``share * y + (1 - share) * y[perm]``, class indices made one-hot first."""
        if self.num_classes is not None and not y.is_floating_point():
            y = F.one_hot(y.long(), self.num_classes).float()
        elif y.is_floating_point():
            y = y.float()
        return share * y + (1.0 - share) * y[perm]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(alpha={self.alpha}, num_classes={self.num_classes})"


def beta_draw(alpha: float, generator: torch.Generator) -> float:
    """One ``Beta(alpha, alpha)`` draw decided by the torch generator's state.

    torch's Beta and Gamma samplers take no generator, so a NumPy generator is seeded from it.
    """
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    return float(np.random.default_rng(seed).beta(alpha, alpha))
