"""Which files make an image source: class folders (searched to any depth) or a CSV list."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from honed.errors import DataError

from .tables import column_values, read_frame

__all__ = ["IMAGE_SUFFIXES", "class_folder_files", "image_list_files", "images_under"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def images_under(root: Path) -> list[Path]:
    """Image files anywhere below ``root``, sorted; hidden files and folders are skipped.

    A link whose target is gone is kept, so that reading it names it instead of the file
    silently vanishing from the data.
    """
    return sorted(p for p in root.rglob("*")
                  if p.suffix.lower() in IMAGE_SUFFIXES and not p.is_dir()
                  and not any(part.startswith(".") for part in p.relative_to(root).parts))


def class_folder_files(folder: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """``folder/CLASS/**/*.png`` (and the other suffixes): files, class codes, class names.

    Raises:
        DataError: No class subfolders, or a class folder without images.
    """
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"image folder {folder} has no class subfolders (one folder per class)")
    files: list[Path] = []
    labels: list[int] = []
    for code, name in enumerate(classes):
        found = images_under(folder / name)
        if not found:
            raise DataError(f"class folder {folder / name} has no images "
                            f"({', '.join(IMAGE_SUFFIXES)})")
        files += found
        labels += [code] * len(found)
    return files, np.asarray(labels, dtype=np.int64), classes


def image_list_files(path: Path, *, label: str | None) -> tuple[list[Path], np.ndarray]:
    """A CSV of ``path,label`` rows: the files (relative ones from the CSV's folder), labels.

    Raises:
        DataError: The CSV is unreadable, lacks the ``path`` or label column, or a row has no
            path or no label.
    """
    frame = read_frame(path)
    label = label or "label"
    listed = ", ".join(map(str, frame.columns))
    for name, field in (("path", "image paths"), (label, "labels (data.target)")):
        if name not in frame.columns:
            raise DataError(f"{path} has no column '{name}' of {field}; columns: {listed}")
    if len(frame) == 0:
        raise DataError(f"{path} has no data rows")
    for name in ("path", label):
        gaps = np.flatnonzero(frame[name].isna().to_numpy())
        if gaps.size:
            raise DataError(f"{path}: row {gaps[0] + 1} has no value in column '{name}'")
    files = [Path(str(p).strip()).expanduser() for p in frame["path"]]
    files = [p if p.is_absolute() else path.parent / p for p in files]
    labels = np.asarray(column_values(frame[label], origin=str(path), name=label))
    if labels.dtype.kind == "f" and np.all(labels == np.round(labels)):
        labels = labels.astype(np.int64)  # integer labels stay integers: they may be codes
    return files, labels
