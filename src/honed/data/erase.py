"""Random erasing (Zhong et al., 2020), also called cutout: blank one box of some images."""

from __future__ import annotations

import math

import torch

__all__ = ["RandomErasing"]


class RandomErasing:
    """With probability ``p``, sets one random box of an image to 0 in every channel.

    0 is a scaled value: the training mean with ``data.scale: standard``. The box covers a
    share of the area uniform in ``[0.02, 0.33]``, with an aspect ratio log-uniform in
    ``[0.3, 3.3]`` (the paper's settings), and lies anywhere inside the image.

    Args:
        p: Probability per image, in ``[0, 1]``.
    """

    def __init__(self, p: float) -> None:
        self.p = float(p)

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, height, width = x.shape
        u = torch.rand((n, 5), generator=generator, device=generator.device)
        u = u.to(device=x.device, dtype=torch.float32)
        area = (0.02 + 0.31 * u[:, 0]) * height * width
        ratio = torch.exp(math.log(0.3) + (math.log(3.3) - math.log(0.3)) * u[:, 1])
        box_h = torch.sqrt(area * ratio).round().clamp(1, height)
        box_w = torch.sqrt(area / ratio).round().clamp(1, width)
        top = ((height - box_h + 1) * u[:, 2]).floor()
        left = ((width - box_w + 1) * u[:, 3]).floor()
        rows = torch.arange(height, device=x.device, dtype=torch.float32).view(1, -1, 1)
        cols = torch.arange(width, device=x.device, dtype=torch.float32).view(1, 1, -1)
        inside = ((rows >= top.view(-1, 1, 1)) & (rows < (top + box_h).view(-1, 1, 1))
                  & (cols >= left.view(-1, 1, 1)) & (cols < (left + box_w).view(-1, 1, 1)))
        erase = inside & (u[:, 4] < self.p).view(-1, 1, 1)
        return x.masked_fill(erase.unsqueeze(1), 0.0), y

    def __repr__(self) -> str:
        return f"RandomErasing(p={self.p})"
