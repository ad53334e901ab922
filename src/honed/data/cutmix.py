"""CutMix (Yun et al., 2019): paste a box of another image and mix the targets by area."""

from __future__ import annotations

import torch

from .mixup import Mixup

__all__ = ["CutMix"]


class CutMix(Mixup):
    """Replaces one box of every image with the same box of a partner image from the batch.

    One ``lam ~ Beta(alpha, alpha)`` per batch sets the box's share of the area, ``1 - lam``;
    the box's centre is uniform over the image and the box is clipped at the border, so the
    targets are mixed by the share actually pasted.

    Args:
        alpha: Beta concentration, > 0.
        num_classes: For classification: class indices become soft targets
            ``(N, num_classes)``. ``None`` mixes numeric targets linearly.
    """

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        lam, perm = self.draw(x, generator)
        centre = torch.rand(2, generator=generator, device=generator.device).tolist()
        height, width = x.shape[-2:]
        side = (1.0 - lam) ** 0.5
        top, bottom = _span(centre[0] * height, side * height, height)
        left, right = _span(centre[1] * width, side * width, width)
        out = x.clone()
        out[..., top:bottom, left:right] = x[perm][..., top:bottom, left:right]
        kept = 1.0 - (bottom - top) * (right - left) / (height * width)
        return out, self.mix_targets(y, perm, kept)


def _span(centre: float, length: float, limit: int) -> tuple[int, int]:
    """Pixel rows (or columns) ``[start, stop)`` of a box, clipped to the image."""
    return (int(min(max(round(centre - length / 2), 0), limit)),
            int(min(max(round(centre + length / 2), 0), limit)))
