"""Image folders as they come: any size and mode, nested, every suffix, or a CSV list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from honed.data import load_source, prepare_data, read_image
from honed.data.image_transform import image_transform, transform_image
from honed.errors import DataError

from .conftest import spec, write_images
from .photos import LAYOUT, save_photo, write_photos

IMAGE = {"size": [16, 12], "mode": "rgb"}


def test_every_size_mode_suffix_and_depth_reads_to_one_shape(tmp_path):
    write_photos(tmp_path / "photos")
    raw = load_source(spec(tmp_path / "photos", image=IMAGE))
    assert raw.x.shape == (2 * len(LAYOUT), 3, 16, 12) and raw.x.dtype == np.uint8
    assert raw.class_names == ["day", "night"] and np.bincount(raw.y).tolist() == [10, 10]
    assert raw.extra["image"] == {"mode": "RGB", "size": [12, 16], "files": 20,
                                  "transform": {"size": [16, 12], "mode": "rgb",
                                                "resize": "shorter"}}
    day, night = raw.x[raw.y == 0], raw.x[raw.y == 1]
    assert day.mean() > night.mean() + 60  # every file decoded, none left black
    grey = load_source(spec(tmp_path / "photos", image={**IMAGE, "mode": "l"}))
    assert grey.x.shape == (20, 1, 16, 12) and grey.extra["image"]["mode"] == "L"


def test_mixed_sizes_without_data_image_name_the_setting(tmp_path):
    write_images(tmp_path / "imgs", {"a": 2, "b": 2}, size=(8, 8))
    write_images(tmp_path / "imgs", {"c": 1}, size=(9, 8))
    with pytest.raises(DataError, match=r"c.000\.png is 9x8 L; expected 8x8 L like .*: set "
                                        r"data\.image\.size \[height, width\]"):
        load_source(spec(tmp_path / "imgs"))
    write_images(tmp_path / "modes", {"a": 2}, size=(8, 8))
    write_images(tmp_path / "modes", {"b": 1}, size=(8, 8), mode="RGB")
    with pytest.raises(DataError, match=r"is 8x8 RGB; expected 8x8 L .*data\.image\.mode"):
        load_source(spec(tmp_path / "modes"))


def test_same_size_folders_read_as_before_without_data_image(tmp_path):
    write_images(tmp_path / "imgs", {"a": 3, "b": 3}, size=(6, 5), mode="RGB")
    raw = load_source(spec(tmp_path / "imgs"))
    assert raw.extra["image"] == {"mode": "RGB", "size": [6, 5], "files": 6}
    assert raw.x.shape == (6, 3, 5, 6)


def test_exif_orientation_turns_the_photo_upright(tmp_path):
    from PIL import Image

    path = tmp_path / "sideways.jpg"
    save_photo(path, "EXIF", (30, 40), bright=True, seed=0)
    assert Image.open(path).size == (40, 30)  # stored sideways
    upright = np.asarray(Image.fromarray(_scene(30, 40)).resize((15, 20),
                                                                 Image.Resampling.BILINEAR))
    pixels = read_image(path, transform=image_transform([20, 15], resize="stretch"))
    assert pixels.shape == (3, 20, 15)
    # JPEG loses a little; a sideways read would differ by the whole gradient
    assert np.abs(pixels.transpose(1, 2, 0).astype(int) - upright).mean() < 6


def _scene(width, height):
    from .photos import scene

    return scene(width, height, bright=True, seed=0)


def test_sixteen_bit_grey_is_scaled_to_eight_bits(tmp_path):
    from PIL import Image

    values = np.arange(0, 65536, 257 * 5, dtype=np.uint16).reshape(-1, 1).repeat(3, axis=1)
    Image.fromarray(values).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode in ("I;16", "I")
    pixels = read_image(tmp_path / "deep.png",
                        transform=image_transform(values.shape, mode="l"))
    np.testing.assert_array_equal(pixels[0], values // 257)


@pytest.mark.parametrize("resize, expected", [
    # a 30x10 image: left third 0, middle 100, right third 200; target 10x10
    ("shorter", [100] * 10),  # the centre square, scaled 1:1
    ("stretch", [0] * 3 + [100] * 4 + [200] * 3),
    ("pad", None),
])
def test_resize_methods(resize, expected):
    from PIL import Image

    row = np.repeat(np.array([0, 100, 200], dtype=np.uint8), 10)
    image = Image.fromarray(np.tile(row, (10, 1)), "L")
    pixels = transform_image(image, image_transform([10, 10], mode="l", resize=resize))[0]
    assert pixels.shape == (10, 10)
    if expected is not None:
        np.testing.assert_allclose(pixels[5], expected, atol=40)  # bilinear edges blur
        assert pixels[5, 5] == 100
    else:  # the whole image, 10x3 or 10x4, centred between black bars
        assert (pixels[:3] == 0).all() and (pixels[-3:] == 0).all()
        assert pixels[5, 0] < 50 and pixels[5, -1] > 150


def test_a_csv_of_paths_and_labels_reads_like_the_folder(tmp_path):
    write_photos(tmp_path / "photos")
    files = sorted((tmp_path / "photos").rglob("*.*"))
    rows = pd.DataFrame({"path": [str(p.relative_to(tmp_path)) for p in files],
                         "label": [p.relative_to(tmp_path / "photos").parts[0] for p in files]})
    rows.to_csv(tmp_path / "list.csv", index=False)
    listed = prepare_data(spec("list.csv", image=IMAGE), seed=0, base_dir=tmp_path)
    folder = prepare_data(spec(tmp_path / "photos", image=IMAGE), seed=0)
    assert listed.class_names == folder.class_names == ["day", "night"]
    assert sorted(listed.train.x.sum(axis=(1, 2, 3)).round(2).tolist()) == \
        sorted(folder.train.x.sum(axis=(1, 2, 3)).round(2).tolist())
    rows.rename(columns={"label": "kind"}).to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(DataError, match="other.csv has no column 'label' of labels"):
        load_source(spec(tmp_path / "other.csv", image=IMAGE))
    assert load_source(spec(tmp_path / "other.csv", image=IMAGE, target="kind")).x.shape[0] == 20


def test_data_image_on_other_sources_is_refused(tmp_path):
    with pytest.raises(DataError, match="data.image reads image files"):
        load_source(spec("builtin:iris", image=IMAGE))
    np.savez(tmp_path / "a.npz", x=np.zeros((4, 2)), y=np.arange(4))
    with pytest.raises(DataError, match="data.image reads image files"):
        load_source(spec(tmp_path / "a.npz", image=IMAGE))
