"""Image sources read with Pillow: class folders or a CSV of ``path,label`` rows.

With ``data.image`` set, every file goes through :func:`transform_image` (upright, one mode,
one size). Without it, the files must already share one size and mode, and are taken as they
are: specs written before ``data.image`` existed give the same data as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from honed.errors import DataError

from .image_files import IMAGE_SUFFIXES, class_folder_files, image_list_files
from .image_transform import PILLOW_MODES, transform_image
from .raw import RawData
from .streaming import should_stream

__all__ = ["read_image_folder", "read_image_list", "read_image", "skipped_line",
           "ImageFiles", "IMAGE_SUFFIXES"]

# Modes whose pixels are 8-bit; palette and 1-bit images are expanded to these when read.
_CHANNELS = {"1": 1, "L": 1, "P": 3, "LA": 2, "RGB": 3, "RGBA": 4}
_EXPAND = {"1": "L", "P": "RGB"}
_SHOWN = 10  # skipped files listed in preprocess.json; the rest are counted


def read_image_folder(folder: Path, *, transform: Mapping[str, Any] | None = None,
                      skip_bad: bool = False, stream: bool | str = False) -> RawData:
    """Read ``folder/CLASS/**/*.png`` (and jpg, jpeg, bmp, gif, webp, tif, tiff) as uint8
    ``(N, C, H, W)``; class names are the subfolder names, sorted.

    Args:
        folder: One subfolder per class, images at any depth below it.
        transform: ``preprocess["image"]["transform"]`` settings; ``None`` takes the images
            as they are, which needs one size and mode throughout.
        skip_bad: Leave out (and count) files that cannot be decoded instead of failing.
        stream: ``data.stream``: when it streams, ``x`` is an :class:`ImageFiles` that decodes
            rows when indexed (each file is still decoded once here, to check it).

    Raises:
        DataError: No class subfolders, a class without images, a file that cannot be read
            (unless skipped), or, without ``transform``, images of different sizes or modes.
    """
    files, labels, classes = class_folder_files(folder)
    raw = _decode(files, labels, transform=transform, skip_bad=skip_bad, origin=folder,
                  stream=stream)
    raw.task, raw.class_names = "classification", classes
    kept = np.bincount(raw.y, minlength=len(classes))
    if not kept.all():
        empty = folder / classes[int(np.argmin(kept))]
        raise DataError(f"class folder {empty} has no image that could be read "
                        "(data.skip_bad left every one out)")
    return raw


def read_image_list(path: Path, *, label: str | None, transform: Mapping[str, Any] | None,
                    skip_bad: bool = False, stream: bool | str = False) -> RawData:
    """Read the images a CSV of ``path,label`` rows names; the task follows from the labels.

    Raises:
        DataError: As :func:`read_image_folder`, or a bad CSV (see ``image_list_files``).
    """
    files, labels = image_list_files(path, label=label)
    raw = _decode(files, labels, transform=transform, skip_bad=skip_bad, origin=path,
                  stream=stream)
    raw.target, raw.max_classes = label or "label", 20  # as a table's label column
    return raw


def read_image(path: str | Path, *, mode: str | None = None,
               size: tuple[int, int] | None = None,
               transform: Mapping[str, Any] | None = None) -> np.ndarray:
    """One image file as uint8 ``(C, H, W)``, for serving a model trained on image files.

    Args:
        path: The image file.
        mode: Convert to this Pillow mode first (``preprocess["image"]["mode"]``).
        size: Expected ``(width, height)``; a different size raises rather than resizing.
        transform: ``preprocess["image"]["transform"]``: when given, the image is converted
            and resized as in training, and ``mode`` and ``size`` are not needed.

    Raises:
        DataError: The file cannot be read or has another size.
    """
    path = Path(path)
    image = _open(path)
    if transform is not None:
        return _transformed(image, path, transform)
    if mode is not None and image.mode != mode:
        image = image.convert(mode)
    if size is not None and tuple(image.size) != tuple(size):
        raise DataError(f"image {path} is {image.size[0]}x{image.size[1]}; "
                        f"expected {size[0]}x{size[1]}")
    return _to_array(image)


def skipped_line(preprocess: Mapping[str, Any]) -> str | None:
    """One line for a run's summary on the files ``data.skip_bad`` left out, or ``None``."""
    skipped = (preprocess.get("image") or {}).get("skipped") or {}
    if not skipped.get("count"):
        return None
    count = skipped["count"]
    return (f"skipped {count} image file{'s' if count != 1 else ''} that could not be read "
            f"(data.skip_bad; listed in preprocess.json); first: {skipped['first'][0]}")


def _decode(files: list[Path], labels: np.ndarray, *, transform: Mapping[str, Any] | None,
            skip_bad: bool, origin: Path, stream: bool | str = False) -> RawData:
    """Decode every file into one array, or (streaming) check each and keep the file list;
    bad files raise, or are skipped and counted."""
    skipped: list[str] = []
    pixels = first = None
    lazy = False
    keep = np.ones(len(files), dtype=bool)
    for i, path in enumerate(files):
        try:
            image = _open(path)
        except DataError as error:
            if not skip_bad:
                raise
            skipped.append(str(error))
            keep[i] = False
            continue
        array = _pixels(image, path, transform, first)
        if first is None:
            first = (path, image.mode, image.size)
            # raw uint8 pixels plus the float32 model inputs made from them
            lazy = should_stream(stream, len(files) * array.nbytes * 5)
            pixels = None if lazy else np.empty((len(files), *array.shape), dtype=np.uint8)
            shape = array.shape
        if not lazy:
            pixels[i] = array
    if first is None:
        raise DataError(f"{origin}: no image could be read ({len(skipped)} skipped); first: "
                        f"{skipped[0]}")
    if transform:
        info = {"mode": PILLOW_MODES[transform["mode"]],
                "size": [transform["size"][1], transform["size"][0]], "transform": dict(transform)}
    else:
        # the mode of the pixels as stored: palette and 1-bit images are expanded
        info = {"mode": _EXPAND.get(first[1], first[1]), "size": list(first[2])}
    info["files"] = int(keep.sum())
    if skip_bad:
        info["skipped"] = {"count": len(skipped), "first": skipped[:_SHOWN]}
    x = (ImageFiles([f for f, k in zip(files, keep, strict=True) if k], shape,
                    transform=transform, first=first) if lazy else pixels[keep])
    return RawData(x=x, y=labels[keep], kind="image", origin=str(origin),
                   pixel_scale=255.0, extra={"image": info}, stream=lazy)


class ImageFiles:
    """Image files read as uint8 ``(N, C, H, W)`` rows when indexed, never all at once: the
    raw inputs of a streamed image source. Each file goes through the same steps as when a
    whole folder is decoded into memory."""

    dtype = np.dtype(np.uint8)
    ndim = 4

    def __init__(self, files: list[Path], shape: tuple[int, ...], *,
                 transform: Mapping[str, Any] | None, first: tuple) -> None:
        self.files, self.shape = [str(f) for f in files], (len(files), *shape)
        self.transform = None if transform is None else dict(transform)
        self.first = first

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, rows) -> np.ndarray:
        rows = np.arange(len(self))[rows] if isinstance(rows, slice) else np.asarray(rows)
        out = np.empty((len(rows), *self.shape[1:]), dtype=np.uint8)
        for j, row in enumerate(rows):
            path = Path(self.files[int(row)])
            out[j] = _pixels(_open(path), path, self.transform, self.first)
        return out


def _pixels(image, path: Path, transform: Mapping[str, Any] | None, first) -> np.ndarray:
    return _transformed(image, path, transform) if transform else _as_first(image, path, first)


def _transformed(image, path: Path, transform: Mapping[str, Any]) -> np.ndarray:
    try:
        return transform_image(image, transform)
    except (OSError, ValueError) as error:  # a mode Pillow cannot convert, a broken EXIF tag
        raise DataError(f"cannot read image {path}: {error}") from None


def _as_first(image, path: Path, first: tuple | None) -> np.ndarray:
    """The image's own pixels, when it has the size and mode of the first image read."""
    if first is None:
        if image.mode not in _CHANNELS:
            raise DataError(f"image {path} has mode {image.mode}; set data.image (mode: rgb "
                            f"or l) to convert it, or give 8-bit images ({', '.join(_CHANNELS)})")
    elif image.size != first[2] or image.mode != first[1]:
        raise DataError(
            f"image {path} is {image.size[0]}x{image.size[1]} {image.mode}; expected "
            f"{first[2][0]}x{first[2][1]} {first[1]} like {first[0]}: set data.image.size "
            "[height, width] (and data.image.mode rgb or l) to bring every image to one shape")
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

    if path.is_symlink() and not path.exists():
        raise DataError(f"cannot read image {path}: a link to a file that is gone")
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
