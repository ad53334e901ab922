"""One random affine map per image: rotation, shift, zoom and shear in a single resampling."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["RandomAffine", "affine_theta"]


class RandomAffine:
    """Rotates, shifts, zooms and shears each image of a batch by its own random amounts.

    The four maps are composed into one matrix per sample, so the image is resampled once
    (bilinear) instead of blurring a little more with each step. Pixels that come from outside
    the image repeat the border, which for digits and most photos is background.

    Args:
        rotate: Degrees; the angle is uniform in ``[-rotate, rotate]``.
        shift: Fraction of width and height; each offset uniform in ``[-shift, shift]``.
        zoom: Scale uniform in ``[1 - zoom, 1 + zoom]``.
        shear: Degrees of horizontal shear, uniform in ``[-shear, shear]``.
    """

    def __init__(self, *, rotate: float = 0.0, shift: float = 0.0, zoom: float = 0.0,
                 shear: float = 0.0) -> None:
        self.rotate, self.shift, self.zoom, self.shear = map(float, (rotate, shift, zoom, shear))

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, height, width = x.shape
        u = torch.rand((n, 5), generator=generator, device=generator.device)
        u = (2.0 * u - 1.0).to(device=x.device, dtype=torch.float32)  # uniform in [-1, 1)
        theta = affine_theta(angle=u[:, 0] * self.rotate, shift_x=u[:, 1] * self.shift,
                             shift_y=u[:, 2] * self.shift, scale=1.0 + u[:, 3] * self.zoom,
                             shear=u[:, 4] * self.shear, height=height, width=width)
        grid = F.affine_grid(theta, [n, x.shape[1], height, width], align_corners=False)
        out = F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="border",
                            align_corners=False)
        return out.to(x.dtype), y

    def __repr__(self) -> str:
        return (f"RandomAffine(rotate={self.rotate}, shift={self.shift}, zoom={self.zoom}, "
                f"shear={self.shear})")


def affine_theta(*, angle: torch.Tensor, shift_x: torch.Tensor, shift_y: torch.Tensor,
                 scale: torch.Tensor, shear: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``(N, 2, 3)`` matrices for ``F.affine_grid`` that move image content as described.

    Args:
        angle: Rotation in degrees (clockwise as displayed, since image rows grow downwards).
        shift_x: Shift right, as a fraction of the width.
        shift_y: Shift down, as a fraction of the height.
        scale: Zoom factor; above 1 enlarges the content.
        shear: Horizontal shear in degrees.
        height: Image height in pixels.
        width: Image width in pixels.
    """
    angle, shear = torch.deg2rad(angle), torch.tan(torch.deg2rad(shear))
    cos, sin = torch.cos(angle), torch.sin(angle)
    # forward map in pixel units: rotation @ shear @ zoom
    m00, m01 = cos * scale, (cos * shear - sin) * scale
    m10, m11 = sin * scale, (sin * shear + cos) * scale
    # affine_grid works in [-1, 1] per axis; convert so that a rotation stays a rotation on a
    # non-square image
    aspect = height / width
    a00, a01, a10, a11 = m00, m01 * aspect, m10 / aspect, m11
    det = a00 * a11 - a01 * a10
    # affine_grid wants the inverse: for each output pixel, where to read in the input
    i00, i01, i10, i11 = a11 / det, -a01 / det, -a10 / det, a00 / det
    b0, b1 = 2.0 * shift_x, 2.0 * shift_y
    return torch.stack([
        torch.stack([i00, i01, -(i00 * b0 + i01 * b1)], dim=1),
        torch.stack([i10, i11, -(i10 * b0 + i11 * b1)], dim=1),
    ], dim=1)
