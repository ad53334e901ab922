"""Small synthetic sources written to ``tmp_path``: a mixed table, arrays, image folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from honed.spec.schema import DataSpec


def mixed_table(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """Numbers, a text category, an integer flag, text labels, a few gaps and outliers."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "age": rng.normal(40, 10, n).round(1),
        "income": rng.lognormal(10, 0.5, n).round(0),
        "color": rng.choice(["red", "green", "blue"], n),
        "flag": rng.integers(0, 2, n),
        "label": rng.choice(["cat", "dog", "emu"], n, p=[0.5, 0.3, 0.2]),
    })
    frame.loc[[3, 10, 50], "age"] = np.nan
    frame.loc[[5, 7], "color"] = np.nan
    frame.loc[[0, 1], "income"] = [1e9, -1e9]
    return frame


def spec(source: str | Path, **kwargs) -> DataSpec:
    return DataSpec(source=str(source), **kwargs)


@pytest.fixture
def table_csv(tmp_path: Path) -> Path:
    path = tmp_path / "table.csv"
    mixed_table().to_csv(path, index=False)
    return path


def write_images(folder: Path, classes: dict[str, int], *, size=(6, 5), mode="L",
                 seed: int = 0) -> Path:
    """``folder/CLASS/i.png`` with random pixels, ``classes`` maps names to counts."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    channels = {"L": 1, "RGB": 3}[mode]
    for name, count in classes.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
            image = Image.fromarray(pixels[:, :, 0] if mode == "L" else pixels, mode=mode)
            image.save(folder / name / f"{i:03d}.png")
    return folder
