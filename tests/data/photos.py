"""Photo-like image folders as users have them: mixed sizes, modes, formats and depths."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# (relative path, Pillow mode, (width, height)); every suffix honed reads, nested folders,
# palette, transparent, grey and 16-bit files, and a JPEG stored sideways with an EXIF tag
LAYOUT = [
    ("a.png", "RGB", (40, 30)),
    ("trip/day2/b.jpg", "RGB", (25, 50)),
    ("c.bmp", "L", (32, 32)),
    ("d.gif", "P", (30, 20)),
    ("e.webp", "RGBA", (35, 28)),
    ("f.tiff", "RGB", (20, 24)),
    ("g.tif", "LA", (22, 22)),
    ("h.jpeg", "RGB", (48, 36)),
    ("i16.png", "I;16", (26, 18)),
    ("sideways.jpg", "EXIF", (30, 40)),
]
EXIF_ORIENTATION = 0x0112


def scene(width: int, height: int, *, bright: bool, seed: int) -> np.ndarray:
    """A smooth RGB gradient with a little noise; ``bright`` scenes are lighter."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width]
    base = 150 if bright else 40
    channels = [base + 60 * xs / width, base + 60 * ys / height,
                np.full((height, width), base + 30.0)]
    pixels = np.stack(channels, axis=-1) + rng.normal(0, 8, (height, width, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def save_photo(path: Path, mode: str, size: tuple[int, int], *, bright: bool, seed: int) -> None:
    """One file of the given kind; ``EXIF`` stores an upright ``size`` photo sideways."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = Image.fromarray(scene(*size, bright=bright, seed=seed), "RGB")
    if mode == "EXIF":
        exif = Image.Exif()
        exif[EXIF_ORIENTATION] = 6  # "turn 90 degrees clockwise to display"
        rgb.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=95)
    elif mode == "I;16":
        grey = np.asarray(rgb.convert("L"), dtype=np.uint16) * 257
        Image.fromarray(grey).save(path)
    elif mode == "P":
        rgb.convert("P", palette=Image.Palette.ADAPTIVE).save(path)
    else:
        rgb.convert(mode).save(path)


def write_photos(root: Path, copies: int = 1) -> Path:
    """``root/day`` (bright) and ``root/night`` (dark), each holding ``LAYOUT`` ``copies`` times."""
    for label, bright in (("day", True), ("night", False)):
        for copy in range(copies):
            for i, (name, mode, size) in enumerate(LAYOUT):
                path = root / label / (f"{copy}/{name}" if copy else name)
                save_photo(path, mode, size, bright=bright, seed=100 * copy + i + bright)
    return root
