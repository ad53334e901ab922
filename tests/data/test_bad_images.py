"""Bad image files: one line naming the file, or with ``data.skip_bad`` skipped and counted."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from honed.data import load_source, read_image
from honed.errors import DataError

from .conftest import spec, write_images
from .test_image_files import png_header


def bad_files(folder: Path) -> dict[str, str]:
    """One file of every bad kind in ``folder``, with the fragment its error holds."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.jpg").write_text("not an image\n")
    Image.new("L", (64, 64), color=7).save(folder / "cut.png")
    (folder / "cut.png").write_bytes((folder / "cut.png").read_bytes()[:-30])
    png_header(folder / "bomb.png", 20_000, 20_000)
    (folder / "gone.png").symlink_to(folder / "deleted-long-ago.png")
    return {"empty.png": "cannot read image", "notes.jpg": "cannot read image",
            "cut.png": "cannot read image", "bomb.png": "has more than 89,478,485 pixels",
            "gone.png": "a link to a file that is gone"}


@pytest.mark.parametrize("name", ["empty.png", "notes.jpg", "cut.png", "bomb.png", "gone.png"])
def test_each_bad_file_fails_the_folder_naming_itself(tmp_path, name):
    write_images(tmp_path / "imgs", {"a": 2, "b": 2}, size=(8, 8))
    fragments = bad_files(tmp_path / "bad")
    (tmp_path / "bad" / name).rename(tmp_path / "imgs" / "b" / name)
    with pytest.raises(DataError) as info:
        load_source(spec(tmp_path / "imgs"))
    message = str(info.value)
    assert str(tmp_path / "imgs" / "b" / name) in message and fragments[name] in message
    assert "\n" not in message


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root reads a file whatever its permission bits say")
def test_a_file_without_read_permission_names_itself(tmp_path):
    write_images(tmp_path / "imgs", {"a": 1}, size=(8, 8))
    path = tmp_path / "imgs" / "a" / "000.png"
    path.chmod(0)
    try:
        with pytest.raises(DataError, match=f"^cannot read image {path}: .*Permission denied"):
            read_image(path)
    finally:
        path.chmod(0o644)


def test_skip_bad_leaves_bad_files_out_and_counts_them(tmp_path):
    write_images(tmp_path / "imgs", {"a": 3, "b": 3}, size=(8, 8))
    fragments = bad_files(tmp_path / "imgs" / "b")
    with pytest.raises(DataError):
        load_source(spec(tmp_path / "imgs"))
    raw = load_source(spec(tmp_path / "imgs", skip_bad=True))
    clean = load_source(spec(_good_copy(tmp_path)))  # the same images, without the bad ones
    np.testing.assert_array_equal(raw.x, clean.x)
    np.testing.assert_array_equal(raw.y, clean.y)
    skipped = raw.extra["image"]["skipped"]
    assert skipped["count"] == len(fragments) and raw.extra["image"]["files"] == 6
    for name, fragment in fragments.items():  # each named once, with its reason
        lines = [line for line in skipped["first"] if str(tmp_path / "imgs" / "b" / name) in line]
        assert len(lines) == 1 and fragment in lines[0]


def _good_copy(tmp_path: Path) -> Path:
    return write_images(tmp_path / "good", {"a": 3, "b": 3}, size=(8, 8))


def test_skip_bad_still_needs_an_image_in_every_class(tmp_path):
    write_images(tmp_path / "imgs", {"a": 3}, size=(8, 8))
    bad_files(tmp_path / "imgs" / "b")
    with pytest.raises(DataError, match=r"class folder .*imgs.b has no image that could be "
                                        r"read \(data.skip_bad left every one out\)"):
        load_source(spec(tmp_path / "imgs", skip_bad=True))


def test_a_class_folder_with_only_subfolders_and_no_images_is_refused(tmp_path):
    write_images(tmp_path / "imgs", {"a": 2}, size=(8, 8))
    (tmp_path / "imgs" / "b" / "2024" / "march").mkdir(parents=True)
    (tmp_path / "imgs" / "b" / "2024" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match=r"class folder .*imgs.b has no images \(.png"):
        load_source(spec(tmp_path / "imgs"))


def test_a_csv_list_naming_a_missing_file_fails_or_skips_it(tmp_path):
    import pandas as pd

    write_images(tmp_path / "imgs", {"a": 2, "b": 2}, size=(8, 8))
    files = sorted((tmp_path / "imgs").rglob("*.png"))
    rows = pd.DataFrame({"path": [*map(str, files), "imgs/b/missing.png"],
                         "label": ["a", "a", "b", "b", "b"]})
    rows.to_csv(tmp_path / "list.csv", index=False)
    image = {"size": [8, 8], "mode": "l"}
    with pytest.raises(DataError, match=f"^image not found: {tmp_path / 'imgs/b/missing.png'}$"):
        load_source(spec(tmp_path / "list.csv", image=image))
    raw = load_source(spec(tmp_path / "list.csv", image=image, skip_bad=True))
    assert raw.x.shape == (4, 1, 8, 8) and raw.extra["image"]["skipped"]["count"] == 1
