"""Colour jitter: random brightness, contrast and saturation per image, in pixel units."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["ColorJitter"]

_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601, as Pillow's convert("L")


class ColorJitter:
    """Scales brightness, contrast and saturation of each image by its own random factors.

    Each factor is uniform in ``[1 - strength, 1 + strength]``. The batch holds scaled model
    inputs, so they are taken back to pixel units with the fitted scaler first (brightness
    multiplies pixel values: black stays black), changed, kept within the batch's range of
    pixel values, and scaled again.

    Args:
        brightness: Strength in ``[0, 1]``.
        contrast: Strength in ``[0, 1]``: distance from the image's mean grey.
        saturation: Strength in ``[0, 1]``: distance from each pixel's grey; needs 3 channels
            (other images are left as they are).
        scaler: ``preprocess["scaler"]``; ``None`` or method ``none``: inputs are pixels.
    """

    def __init__(self, *, brightness: float = 0.0, contrast: float = 0.0,
                 saturation: float = 0.0, scaler: Mapping[str, Any] | None = None) -> None:
        self.brightness, self.contrast, self.saturation = map(
            float, (brightness, contrast, saturation))
        scaled = scaler is not None and scaler.get("method", "none") != "none"
        self.center = list(scaler["center"]) if scaled else None
        self.scale = list(scaler["scale"]) if scaled else None

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        n, channels = x.shape[:2]
        u = torch.rand((n, 3), generator=generator, device=generator.device)
        factor = 1.0 + (2.0 * u.to(device=x.device, dtype=torch.float32) - 1.0) * torch.tensor(
            [self.brightness, self.contrast, self.saturation], device=x.device)
        factor = factor.view(n, 3, 1, 1, 1)
        pixels = x.float()
        if self.center is not None:
            center, scale = self._per_channel(x)
            pixels = pixels * scale + center
        low, high = pixels.amin(), pixels.amax()
        pixels = pixels * factor[:, 0]
        grey = self._grey(pixels)
        pixels = grey.mean(dim=(1, 2, 3), keepdim=True) + factor[:, 1] * (
            pixels - grey.mean(dim=(1, 2, 3), keepdim=True))
        if channels == 3:
            grey = self._grey(pixels)
            pixels = grey + factor[:, 2] * (pixels - grey)
        pixels = pixels.clamp(low, high)
        if self.center is not None:
            pixels = (pixels - center) / scale
        return pixels.to(x.dtype), y

    def _per_channel(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (1, -1, *([1] * (x.dim() - 2)))
        center = torch.tensor(self.center, dtype=torch.float32, device=x.device).view(shape)
        scale = torch.tensor(self.scale, dtype=torch.float32, device=x.device).view(shape)
        return center, scale

    @staticmethod
    def _grey(pixels: torch.Tensor) -> torch.Tensor:
        if pixels.shape[1] == 3:
            weights = torch.tensor(_LUMA, dtype=pixels.dtype, device=pixels.device)
            return (pixels * weights.view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
        return pixels.mean(dim=1, keepdim=True)

    def __repr__(self) -> str:
        return (f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation})")
