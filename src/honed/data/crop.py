"""Random resized crop: each image of a batch shows a random part of itself at full size."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["RandomResizedCrop"]


class RandomResizedCrop:
    """Crops a random box from each image and resizes it back (bilinear), in one resampling.

    At ``strength`` s the box keeps a share of the area uniform in ``[1 - s, 1]``, its aspect
    ratio is the image's times a factor log-uniform in ``[(3/4)^s, (4/3)^s]``, and it lies
    anywhere inside the image. ``s = 0`` keeps every image as it is.

    Args:
        strength: In ``[0, 1)``.
    """

    def __init__(self, strength: float) -> None:
        self.strength = float(strength)

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        n = x.shape[0]
        u = torch.rand((n, 4), generator=generator, device=generator.device)
        u = u.to(device=x.device, dtype=torch.float32)
        area = 1.0 - self.strength * u[:, 0]
        ratio = torch.exp(self.strength * math.log(4 / 3) * (2.0 * u[:, 1] - 1.0))
        # half-widths in affine_grid's [-1, 1] coordinates: a share w of the width is w
        width = torch.sqrt(area * ratio).clamp(max=1.0)
        height = torch.sqrt(area / ratio).clamp(max=1.0)
        centre_x = (1.0 - width) * (2.0 * u[:, 2] - 1.0)
        centre_y = (1.0 - height) * (2.0 * u[:, 3] - 1.0)
        zero = torch.zeros_like(width)
        theta = torch.stack([torch.stack([width, zero, centre_x], dim=1),
                             torch.stack([zero, height, centre_y], dim=1)], dim=1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        out = F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="border",
                            align_corners=False)
        return out.to(x.dtype), y

    def __repr__(self) -> str:
        return f"RandomResizedCrop(strength={self.strength})"
