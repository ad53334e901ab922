"""``data.image``: how image files of any size and mode become one model input shape."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from honed.spec.section import Section

__all__ = ["ImageSpec"]

Side = Annotated[int, Field(ge=1, le=4096)]


class ImageSpec(Section):
    """Every image is decoded with Pillow, turned upright (EXIF), converted to ``mode`` and
    brought to ``size``; training, ``honed predict`` and ``honed serve`` do the same."""

    size: list[Side] = Field(
        min_length=2, max_length=2,
        description="[height, width] in pixels that every image is brought to")
    mode: Literal["rgb", "l"] = Field(
        "rgb", description="rgb: 3 channels; l: 1 grey channel (16-bit images are scaled to "
        "8 bits, transparency is dropped)")
    resize: Literal["shorter", "stretch", "pad"] = Field(
        "shorter", description="shorter: scale the shorter side to fit, then crop the centre; "
        "stretch: scale each side on its own; pad: fit the longer side, pad with black")
