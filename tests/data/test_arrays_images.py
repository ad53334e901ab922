"""``.npz`` arrays of every kind, and folders of images."""

from __future__ import annotations

import numpy as np
import pytest

from honed.data import load_source, prepare_data, read_image
from honed.errors import DataError

from .conftest import spec, write_images


@pytest.mark.parametrize("shape,kind", [((60, 5), "table"), ((60, 7, 2), "sequence"),
                                         ((60, 3, 4, 4), "image")])
def test_npz_shape_decides_kind(tmp_path, shape, kind):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=shape), y=np.arange(60) % 3,
             class_names=np.array(["a", "b", "c"]))
    data = prepare_data(spec("d.npz"), seed=0, base_dir=tmp_path)
    assert data.kind == kind and data.input_shape == shape[1:]
    assert data.task == "classification" and data.class_names == ["a", "b", "c"]
    assert data.train.x.dtype == np.float32


def test_npz_regression_with_several_outputs(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.normal(size=(50, 4)), y=rng.normal(size=(50, 2)))
    data = prepare_data(spec(tmp_path / "d.npz"), seed=0)
    assert data.task == "regression" and data.num_outputs == 2
    assert data.train.y.shape == (len(data.train), 2)
    assert len(data.target_scale[0]) == 2


def test_npz_sequence_scaling_is_per_channel(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 10, 2)) * np.array([1.0, 100.0]) + np.array([0.0, 50.0])
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(80) % 2)
    data = prepare_data(spec(tmp_path / "d.npz"), seed=0)
    np.testing.assert_allclose(data.train.x.mean(axis=(0, 1)), 0.0, atol=1e-5)
    np.testing.assert_allclose(data.train.x.std(axis=(0, 1)), 1.0, atol=1e-4)
    assert len(data.preprocess["scaler"]["center"]) == 2


def test_image_folder(tmp_path):
    write_images(tmp_path / "imgs", {"zebra": 6, "ant": 8}, mode="RGB")
    (tmp_path / "imgs" / "ant" / "notes.txt").write_text("skipped")
    raw = load_source(spec(tmp_path / "imgs"))
    assert raw.x.shape == (14, 3, 5, 6) and raw.x.dtype == np.uint8
    data = prepare_data(spec(tmp_path / "imgs", scale="none", split={"val": 0.2, "test": 0.2}),
                        seed=0)
    assert data.class_names == ["ant", "zebra"] and data.kind == "image"
    assert data.input_shape == (3, 5, 6)
    assert 0.0 <= data.train.x.min() and data.train.x.max() <= 1.0  # pixels in [0, 1]
    assert data.preprocess["image"]["mode"] == "RGB"
    assert data.preprocess["image"]["size"] == [6, 5]
    # serving reads a file the same way
    path = sorted((tmp_path / "imgs" / "zebra").glob("*.png"))[0]
    pixels = read_image(path, mode="RGB", size=(6, 5))
    assert pixels.shape == (3, 5, 6)
    row = int(np.flatnonzero(raw.y == 1)[0])
    np.testing.assert_array_equal(pixels, raw.x[row])
    with pytest.raises(DataError, match="is 6x5; expected 7x7"):
        read_image(path, size=(7, 7))


def test_image_folder_scaling_per_channel(tmp_path):
    write_images(tmp_path / "imgs", {"a": 10, "b": 10}, mode="RGB")
    data = prepare_data(spec(tmp_path / "imgs"), seed=0)
    np.testing.assert_allclose(data.train.x.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(data.train.x.std(axis=(0, 2, 3)), 1.0, atol=1e-4)
