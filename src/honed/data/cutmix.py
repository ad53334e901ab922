"""CutMix (Yun et al., 2019): paste a box of another image and mix the targets by area."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .mixup import beta_draw

__all__ = ["CutMix"]


class CutMix:
    """Replaces one box of every image with the same box of a partner image from the batch.

    One ``lam ~ Beta(alpha, alpha)`` per batch sets the box's share of the area, ``1 - lam``;
    the box's centre is uniform over the image and the box is clipped at the border, so the
    targets are mixed by the share actually pasted.

    Args:
        alpha: Beta concentration, > 0.
        num_classes: For classification: class indices become soft targets
            ``(N, num_classes)``. ``None`` mixes numeric targets linearly.
    """

    def __init__(self, alpha: float, num_classes: int | None = None) -> None:
        self.alpha = float(alpha)
        self.num_classes = num_classes

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        lam = beta_draw(self.alpha, generator)
        perm = torch.randperm(x.shape[0], generator=generator, device=generator.device)
        perm = perm.to(x.device)
        centre = torch.rand(2, generator=generator, device=generator.device).tolist()
        height, width = x.shape[-2:]
        side = (1.0 - lam) ** 0.5
        top, bottom = _span(centre[0] * height, side * height, height)
        left, right = _span(centre[1] * width, side * width, width)
        out = x.clone()
        out[..., top:bottom, left:right] = x[perm][..., top:bottom, left:right]
        kept = 1.0 - (bottom - top) * (right - left) / (height * width)
        if self.num_classes is not None and not y.is_floating_point():
            y = F.one_hot(y.long(), self.num_classes).float()
        elif y.is_floating_point():
            y = y.float()
        return out, kept * y + (1.0 - kept) * y[perm]

    def __repr__(self) -> str:
        return f"CutMix(alpha={self.alpha}, num_classes={self.num_classes})"


def _span(centre: float, length: float, limit: int) -> tuple[int, int]:
    """Pixel rows (or columns) ``[start, stop)`` of a box, clipped to the image."""
    return (int(min(max(round(centre - length / 2), 0), limit)),
            int(min(max(round(centre + length / 2), 0), limit)))
