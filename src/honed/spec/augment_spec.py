"""``data.augment``: training-time augmentation; every field off by default and searchable."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from honed.spec.section import Section

__all__ = ["AugmentSpec"]

Strength = Annotated[float, Field(ge=0.0, le=1.0)]


class AugmentSpec(Section):
    """Training-time augmentation; every field off by default."""

    rotate: Annotated[float, Field(ge=0.0, le=180.0)] = 0.0  # degrees, uniform in [-r, r]
    shift: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0  # fraction of width/height
    zoom: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0  # scale in [1 - z, 1 + z]
    shear: Annotated[float, Field(ge=0.0, le=45.0)] = 0.0  # degrees
    flip: bool = False  # horizontal flip with probability 0.5
    noise: Annotated[float, Field(ge=0.0)] = 0.0  # Gaussian noise std, in scaled units
    mixup: Annotated[float, Field(ge=0.0)] = 0.0  # Beta(a, a) mixing; 0 turns it off
    crop: Annotated[float, Field(ge=0.0, lt=1.0)] = Field(0.0, description=(
        "random resized crop: keep a share of the area uniform in [1 - crop, 1] with an "
        "aspect ratio within (4/3)^crop of the image's, resized back (images)"))
    brightness: Strength = Field(0.0, description=(
        "pixel values times a factor uniform in [1 - b, 1 + b] (images)"))
    contrast: Strength = Field(0.0, description=(
        "distance from the image's mean grey times a factor in [1 - c, 1 + c] (images)"))
    saturation: Strength = Field(0.0, description=(
        "distance from each pixel's grey times a factor in [1 - s, 1 + s] (RGB images; "
        "grey images are left as they are)"))
    erase: Strength = Field(0.0, description=(
        "probability that one rectangle of 2-33% of the image is set to the mean pixel "
        "(random erasing / cutout, images)"))
    cutmix: Annotated[float, Field(ge=0.0)] = Field(0.0, description=(
        "CutMix: Beta(a, a) share of each image kept, the rest a box pasted from another "
        "image of the batch, targets mixed by area; 0 turns it off (images)"))
