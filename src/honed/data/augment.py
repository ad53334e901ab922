"""Training-time augmentation of a batch, every random draw taken from one ``torch.Generator``.

Drawing only from the generator the trainer passes in (never from torch's global state) is what
lets a resumed fit repeat the same augmented batches: saving the generator's state is enough.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from honed.errors import DataError
from honed.spec.schema import AugmentSpec

from .affine import RandomAffine
from .color import ColorJitter
from .crop import RandomResizedCrop
from .cutmix import CutMix
from .erase import RandomErasing
from .mixup import Mixup

__all__ = ["Augment", "make_augment", "GaussianNoise", "RandomFlip", "uniform"]

Step = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]
_IMAGE_ONLY = ("rotate", "shift", "zoom", "shear", "flip", "crop", "brightness", "contrast",
               "saturation", "erase", "cutmix")


def uniform(shape: Sequence[int], generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """U[0, 1) samples drawn on the generator's device, then moved next to ``like``."""
    return torch.rand(tuple(shape), generator=generator, device=generator.device).to(
        device=like.device, dtype=torch.float32)


class GaussianNoise:
    """Adds N(0, std²) noise to every input value (in scaled units)."""

    def __init__(self, std: float) -> None:
        self.std = float(std)

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        noise = torch.randn(tuple(x.shape), generator=generator, device=generator.device)
        return x + self.std * noise.to(device=x.device, dtype=x.dtype), y

    def __repr__(self) -> str:
        return f"GaussianNoise(std={self.std})"


class RandomFlip:
    """Mirrors each image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = float(p)

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        flip = uniform((x.shape[0],), generator, x) < self.p
        return torch.where(flip.view(-1, *([1] * (x.dim() - 1))), x.flip(-1), x), y

    def __repr__(self) -> str:
        return f"RandomFlip(p={self.p})"


class Augment:
    """A chain of batch augmentations.

    Call it as ``x, y = augment(x, y, generator)`` on a training batch; shapes are kept, except
    that mixup turns class indices ``(N,)`` into soft targets ``(N, num_classes)``.
    """

    def __init__(self, steps: Sequence[Step]) -> None:
        self.steps = list(steps)

    def __call__(self, x: torch.Tensor, y: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        for step in self.steps:
            x, y = step(x, y, generator)
        return x, y

    @property
    def soft_targets(self) -> bool:
        """Whether the output targets are soft class probabilities (mixup on classes)."""
        return any(isinstance(s, Mixup)  # CutMix too and s.num_classes is not None
                   for s in self.steps)

    def __repr__(self) -> str:
        return f"Augment({', '.join(map(repr, self.steps))})"


def make_augment(spec: AugmentSpec, *, kind: str, task: str, num_classes: int | None = None,
                 scaler: Mapping[str, Any] | None = None) -> Augment | None:
    """The augmentation a spec asks for, or ``None`` when every option is off.

    Images get one random affine map per sample (rotation, shift, zoom, shear), a random
    resized crop, flips, colour jitter, then noise and random erasing; tables and sequences
    get noise. Mixup works on every kind; CutMix, last, on images.

    Args:
        spec: ``data.augment``.
        kind: ``table``, ``image``, ``sequence`` or ``text``.
        task: The task; with ``classification`` mixup and cutmix need ``num_classes``.
        num_classes: Number of classes, for mixup's soft targets.
        scaler: ``preprocess["scaler"]``, which colour jitter undoes to work on pixels.

    Raises:
        DataError: An image-only option is set for other data.
    """
    steps: list[Step] = []
    if kind == "text":
        used = [name for name in ("noise", "mixup") if getattr(spec, name)]
        if used:  # noise or a blend of token ids is not a text
            raise DataError(f"data.augment.{used[0]} does not apply to text (token ids)")
    if kind != "image":
        used = [name for name in _IMAGE_ONLY if getattr(spec, name)]
        if used:
            raise DataError(f"data.augment.{used[0]} applies to images only; this data is a "
                            f"{kind} (use noise or mixup)")
    elif spec.rotate or spec.shift or spec.zoom or spec.shear:
        steps.append(RandomAffine(rotate=spec.rotate, shift=spec.shift, zoom=spec.zoom,
                                  shear=spec.shear))
    if spec.crop > 0:
        steps.append(RandomResizedCrop(spec.crop))
    if kind == "image" and spec.flip:
        steps.append(RandomFlip(0.5))
    if spec.brightness or spec.contrast or spec.saturation:
        steps.append(ColorJitter(brightness=spec.brightness, contrast=spec.contrast,
                                 saturation=spec.saturation, scaler=scaler))
    if spec.noise > 0:
        steps.append(GaussianNoise(spec.noise))
    if spec.erase > 0:
        steps.append(RandomErasing(spec.erase))
    if (spec.mixup > 0 or spec.cutmix > 0) and task == "classification" and not num_classes:
        name = "mixup" if spec.mixup > 0 else "cutmix"
        raise ValueError(f"{name} on a classification task needs num_classes")
    classes = num_classes if task == "classification" else None
    if spec.mixup > 0:
        steps.append(Mixup(spec.mixup, classes))
    if spec.cutmix > 0:
        steps.append(CutMix(spec.cutmix, classes))
    return Augment(steps) if steps else None
