"""Folders of images, one subfolder per class, read with Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from honed.errors import DataError

from .raw import RawData

__all__ = ["read_image_folder", "read_image", "IMAGE_SUFFIXES"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
# Modes whose pixels are 8-bit; palette and 1-bit images are expanded to these when read.
_CHANNELS = {"1": 1, "L": 1, "P": 3, "LA": 2, "RGB": 3, "RGBA": 4}
_EXPAND = {"1": "L", "P": "RGB"}


def read_image_folder(folder: Path) -> RawData:
    """Read ``folder/CLASS/*.png`` (and jpg, jpeg, bmp, gif, webp) into uint8 ``(N, C, H, W)``.

    Class names are the subfolder names, sorted; files are taken in sorted order. Hidden files
    and files with other suffixes are skipped.

    Raises:
        DataError: No class subfolders, an empty class, an unreadable image, or an image whose
            size or mode differs from the first one (naming both).
    """
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"image folder {folder} has no class subfolders (one folder per class)")
    files: list[Path] = []
    labels: list[int] = []
    for code, name in enumerate(classes):
        found = sorted(p for p in (folder / name).iterdir()
                       if p.is_file() and not p.name.startswith(".")
                       and p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise DataError(f"class folder {folder / name} has no images "
                            f"({', '.join(IMAGE_SUFFIXES)})")
        files += found
        labels += [code] * len(found)
    first = _open(files[0])
    mode, size = first.mode, first.size
    if mode not in _CHANNELS:
        raise DataError(f"image {files[0]} has mode {mode}; honed reads 8-bit images "
                        f"({', '.join(_CHANNELS)})")
    pixels = np.empty((len(files), _CHANNELS[mode], size[1], size[0]), dtype=np.uint8)
    for i, path in enumerate(files):
        image = first if i == 0 else _open(path)
        if image.size != size or image.mode != mode:
            raise DataError(
                f"image {path} is {image.size[0]}x{image.size[1]} {image.mode}; expected "
                f"{size[0]}x{size[1]} {mode} like {files[0]} (resize or convert all images alike)")
        pixels[i] = _to_array(image)
    return RawData(x=pixels, y=np.asarray(labels, dtype=np.int64), kind="image",
                   task="classification", class_names=classes, origin=str(folder),
                   pixel_scale=255.0,
                   # the mode of the pixels as stored: palette and 1-bit images are expanded
                   extra={"image": {"mode": _EXPAND.get(mode, mode), "size": [size[0], size[1]],
                                    "files": len(files)}})


def read_image(path: str | Path, *, mode: str | None = None,
               size: tuple[int, int] | None = None) -> np.ndarray:
    """One image file as uint8 ``(C, H, W)``, for serving a model trained on an image folder.

    Args:
        path: The image file.
        mode: Convert to this Pillow mode first (``preprocess["image"]["mode"]``).
        size: Expected ``(width, height)``; a different size raises rather than resizing.

    Raises:
        DataError: The file cannot be read or has another size.
    """
    path = Path(path)
    image = _open(path)
    if mode is not None and image.mode != mode:
        image = image.convert(mode)
    if size is not None and tuple(image.size) != tuple(size):
        raise DataError(f"image {path} is {image.size[0]}x{image.size[1]}; "
                        f"expected {size[0]}x{size[1]}")
    return _to_array(image)


def _to_array(image) -> np.ndarray:
    if image.mode in _EXPAND:
        image = image.convert(_EXPAND[image.mode])
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def _open(path: Path):
    """Decode one file; every failure (unreadable, truncated, too large) is one DataError."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise DataError(f"image not found: {path}")
    try:
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that, then decodes gigabytes:
        # honed refuses the whole range, from the header, before decoding
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                limit = Image.MAX_IMAGE_PIXELS
                if limit is not None and image.size[0] * image.size[1] > limit:
                    raise Image.DecompressionBombWarning(path)  # another thread reset the filter
                image.load()  # decode now, so a truncated file fails here and names itself
                return image.copy()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DataError(f"image {path} has more than {Image.MAX_IMAGE_PIXELS:,} pixels "
                        "(Pillow's MAX_IMAGE_PIXELS); larger files can exhaust memory, so "
                        "honed does not decode them") from None
    except (UnidentifiedImageError, OSError, EOFError, ValueError, SyntaxError) as error:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"cannot read image {path}: {detail}") from None
