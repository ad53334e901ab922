"""Decode + transform throughput of honed's image path against a hand-written Pillow loop.

    python bench/image_decode.py [--images 2000] [--size 64 64] [--rounds 3] [--json F]

A folder of ``--images`` photo-like JPEGs (two classes, sizes 160..640 px a side, a few
stored sideways with an EXIF tag) is generated once in a temporary folder. Then, in turn for
``--rounds`` rounds (after one untimed call of each on 4 images, for imports), so that load
on a shared machine hits both alike:

- ``honed``: ``read_image_folder(folder, transform=...)``: list, decode, turn upright,
  convert to RGB, resize the shorter side and crop the centre (bilinear), into one uint8
  ``(N, 3, H, W)`` array;
- ``pillow``: the same work written out by hand: ``sorted(glob)``, ``Image.open``,
  ``ImageOps.exif_transpose``, ``convert("RGB")``, ``resize(box=centre box)``,
  ``np.asarray(...).transpose``, stacked.

Both must give identical arrays (checked). Reported: images/s per round, the median of rounds
for each, and the ratio honed / pillow (1.0 means no overhead).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def write_jpegs(folder: Path, count: int, seed: int = 0) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    for i in range(count):
        label = ("day", "night")[i % 2]
        width, height = (int(v) for v in rng.integers(160, 641, 2))
        ys, xs = np.mgrid[0:height, 0:width]
        base = 150 if label == "day" else 40
        pixels = np.stack([base + 60 * xs / width, base + 60 * ys / height,
                           np.full((height, width), base + 30.0)], axis=-1)
        pixels += rng.normal(0, 8, pixels.shape)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
        path = folder / label / f"{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        if i % 10 == 0:  # one in ten stored sideways, as phones do
            exif = Image.Exif()
            exif[0x0112] = 6
            image.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif, quality=90)
        else:
            image.save(path, quality=90)


def honed_path(folder: Path, size: tuple[int, int]) -> np.ndarray:
    from honed.data.image_transform import image_transform
    from honed.data.images import read_image_folder

    return read_image_folder(folder, transform=image_transform(size)).x


def pillow_loop(folder: Path, size: tuple[int, int]) -> np.ndarray:
    return np.stack([pillow_image(path, size) for path in sorted(folder.glob("*/*.jpg"))])


def pillow_image(path: Path, size: tuple[int, int]) -> np.ndarray:
    """One file by hand: upright, RGB, shorter side resized and centre cropped, ``(3, H, W)``."""
    from PIL import Image, ImageOps

    height, width = size
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image).convert("RGB")
    source_w, source_h = image.size
    if source_w * height > source_h * width:
        box_w = source_h * width / height
        box = ((source_w - box_w) / 2, 0.0, (source_w + box_w) / 2, float(source_h))
    else:
        box_h = source_w * height / width
        box = (0.0, (source_h - box_h) / 2, float(source_w), (source_h + box_h) / 2)
    image = image.resize((width, height), Image.Resampling.BILINEAR, box=box)
    return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--size", type=int, nargs=2, default=[64, 64], metavar=("H", "W"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    size = tuple(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        started = time.perf_counter()
        write_jpegs(folder, args.images)
        print(f"wrote {args.images} JPEGs in {time.perf_counter() - started:.1f}s")
        write_jpegs(Path(tmp) / "warm", 4)
        for run in (honed_path, pillow_loop):  # imports and Pillow's plugins, untimed
            run(Path(tmp) / "warm", size)
        rates: dict[str, list[float]] = {"honed": [], "pillow": []}
        for round_index in range(args.rounds):
            arrays = {}
            for name, run in (("honed", honed_path), ("pillow", pillow_loop)):
                started = time.perf_counter()
                arrays[name] = run(folder, size)
                rates[name].append(args.images / (time.perf_counter() - started))
            assert np.array_equal(arrays["honed"], arrays["pillow"]), "the paths differ"
            print(f"round {round_index + 1}: honed {rates['honed'][-1]:7.1f} images/s, "
                  f"pillow {rates['pillow'][-1]:7.1f} images/s")
    medians = {name: statistics.median(values) for name, values in rates.items()}
    ratio = medians["honed"] / medians["pillow"]
    print(f"median: honed {medians['honed']:.1f} images/s, pillow {medians['pillow']:.1f} "
          f"images/s, ratio {ratio:.3f}")
    if args.json:
        from honed.io import atomic_write_json

        atomic_write_json(args.json, {"images": args.images, "size": list(size),
                                      "rates": rates, "medians": medians, "ratio": ratio})


if __name__ == "__main__":
    main()
