"""One decoded image to one model-sized uint8 array, with Pillow and NumPy only.

:func:`transform_image` is the single per-image step of every image path: reading a training
folder, ``honed predict`` and ``honed serve`` (through :func:`honed.data.images.read_image`),
and a lazily decoding dataset. Its settings are the JSON-ready dict saved as
``preprocess["image"]["transform"]``: ``{"size": [height, width], "mode": "rgb" | "l",
"resize": "shorter" | "stretch" | "pad"}``. The step is deterministic (a centre crop, never a
random one): random crops belong to training-time augmentation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["transform_image", "image_transform", "PILLOW_MODES"]

PILLOW_MODES = {"rgb": "RGB", "l": "L"}
_ORIENTATION = 0x0112  # the EXIF tag
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # "I": how Pillow may open a 16-bit PNG


def image_transform(size: tuple[int, int] | list[int], mode: str = "rgb",
                    resize: str = "shorter") -> dict[str, Any]:
    """The JSON-ready settings :func:`transform_image` takes (``data.image`` as a dict)."""
    if mode not in PILLOW_MODES:
        raise ValueError(f"mode must be one of {', '.join(PILLOW_MODES)}; got {mode!r}")
    if resize not in ("shorter", "stretch", "pad"):
        raise ValueError(f"resize must be shorter, stretch or pad; got {resize!r}")
    height, width = (int(v) for v in size)
    return {"size": [height, width], "mode": mode, "resize": resize}


def transform_image(image, transform: Mapping[str, Any]) -> np.ndarray:
    """Turn a decoded Pillow image upright, convert and resize it: uint8 ``(C, H, W)``.

    Args:
        image: A loaded ``PIL.Image.Image`` of any mode (16-bit, palette and transparent
            ones included) and size.
        transform: ``{"size": [height, width], "mode": "rgb" | "l", "resize": ...}``, see
            :func:`image_transform`.

    Example:
        >>> from PIL import Image
        >>> settings = image_transform([4, 6], mode="l")
        >>> transform_image(Image.new("RGB", (30, 10)), settings).shape
        (1, 4, 6)
    """
    from PIL import Image, ImageOps

    height, width = transform["size"]
    # phones store photos sideways plus an EXIF tag; exif_transpose copies even an upright
    # image, so it is called only when there is something to turn
    if image.getexif().get(_ORIENTATION, 1) != 1:
        image = ImageOps.exif_transpose(image)
    image = _eight_bit(image).convert(PILLOW_MODES[transform["mode"]])
    bilinear = Image.Resampling.BILINEAR
    if transform["resize"] == "stretch":
        image = image.resize((width, height), bilinear)
    elif transform["resize"] == "shorter":
        image = image.resize((width, height), bilinear, box=_centre_box(image.size, width, height))
    else:
        image = _pad(image, width, height)
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def _eight_bit(image):
    """16-bit and 32-bit grey images scaled to 8 bits (Pillow's own conversion clips them)."""
    from PIL import Image

    if image.mode in _SIXTEEN_BIT:
        values = np.asarray(image).astype(np.float64)
        return Image.fromarray(np.clip(np.rint(values / 257.0), 0, 255).astype(np.uint8), "L")
    if image.mode == "F":
        return Image.fromarray(np.clip(np.rint(np.asarray(image)), 0, 255).astype(np.uint8), "L")
    return image


def _centre_box(size: tuple[int, int], width: int, height: int) -> tuple[float, ...]:
    """The largest centred box of the target's aspect ratio, in source pixels."""
    source_w, source_h = size
    if source_w * height > source_h * width:  # wider than the target: trim the sides
        box_w = source_h * width / height
        left = (source_w - box_w) / 2
        return (left, 0.0, left + box_w, float(source_h))
    box_h = source_w * height / width
    top = (source_h - box_h) / 2
    return (0.0, top, float(source_w), top + box_h)


def _pad(image, width: int, height: int):
    """Fit the whole image inside the target, centred on black."""
    from PIL import Image

    scale = min(width / image.width, height / image.height)
    inner = (max(1, min(width, round(image.width * scale))),
             max(1, min(height, round(image.height * scale))))
    canvas = Image.new(image.mode, (width, height), 0)
    canvas.paste(image.resize(inner, Image.Resampling.BILINEAR),
                 ((width - inner[0]) // 2, (height - inner[1]) // 2))
    return canvas
