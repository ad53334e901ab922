"""Image files that cannot be decoded safely are one DataError naming the file."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from honed.data.images import read_image
from honed.errors import DataError


def png_header(path: Path, width: int, height: int) -> Path:
    """A valid PNG header claiming ``width x height`` 1-bit pixels, with an empty image stream.

    A few dozen bytes stand for a file whose pixels would take gigabytes once decoded; Pillow
    reads the size from the header alone, so Pillow's real default limit is what is exercised.
    """
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("width, height", [
    (20_000, 20_000),  # 400 megapixels: Pillow raises DecompressionBombError
    (10_000, 10_000),  # 100 megapixels: Pillow only warns, then would decode it all
])
def test_a_decompression_bomb_is_refused_before_decoding(tmp_path, width, height):
    from PIL import Image

    path = png_header(tmp_path / "huge.png", width, height)
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # Pillow's own default, not a test setting
    with pytest.raises(DataError) as info:
        read_image(path)
    assert str(info.value) == (f"image {path} has more than 89,478,485 pixels (Pillow's "
                               "MAX_IMAGE_PIXELS); larger files can exhaust memory, so honed "
                               "does not decode them")


def test_the_limit_follows_pillows_setting(tmp_path, monkeypatch):
    from PIL import Image

    from tests.data.conftest import write_images

    write_images(tmp_path / "imgs", {"a": 1}, size=(6, 5))
    path = next((tmp_path / "imgs" / "a").glob("*.png"))
    assert read_image(path).shape == (1, 5, 6)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 29)  # a user's own, stricter setting
    with pytest.raises(DataError, match="has more than 29 pixels"):
        read_image(path)


@pytest.mark.parametrize("content", [b"", b"not an image at all\n", b"\x89PNG\r\n\x1a\n\0\0"])
def test_empty_corrupt_and_foreign_files_name_themselves(tmp_path, content):
    path = tmp_path / "photo.png"
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"^cannot read image {path}: "):
        read_image(path)


def test_a_truncated_image_names_itself(tmp_path):
    from PIL import Image

    path = tmp_path / "cut.png"
    Image.new("L", (64, 64), color=7).save(path)
    path.write_bytes(path.read_bytes()[:-30])  # the end of the pixel stream is gone
    with pytest.raises(DataError, match=f"^cannot read image {path}: "):
        read_image(path)
