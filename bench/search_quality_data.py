"""The data of bench/search_quality.py's spaces: generated once into a folder, then read by path.

``mnist1d_families``: 8,000 MNIST-1D sequences (honed's port of the reference generator, seed
42; the published set is its first 5,000 draws' distribution at 5,000), so that the split can
hold 2,000 validation rows. ``table_preprocess``: a 3-class table from scikit-learn's
make_classification, made awkward on purpose (skewed and rescaled columns, gross outliers,
missing cells) so that the preprocessing choices in the space matter. Other spaces name a
built-in source in their YAML and need nothing here.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["materialize"]


def materialize(space: str, folder: Path) -> dict:
    """The ``data`` keys that point ``space`` at its generated file (written if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    if space == "mnist1d_families":
        path = folder / "mnist1d_8000.npz"
        if not path.exists():
            from honed.data.mnist1d import make_mnist1d

            x, y = make_mnist1d(num_samples=8000)
            _atomic(path, lambda p: np.savez(p, x=x[:, :, None].astype(np.float32), y=y))
        return {"source": str(path)}
    if space == "table_preprocess":
        path = folder / "table_10000.csv"
        if not path.exists():
            _atomic(path, lambda p: _awkward_table().to_csv(p, index=False))
        return {"source": str(path), "target": "label"}
    return {}


def _atomic(path: Path, write) -> None:
    scratch = path.with_name(f".{path.stem}.{os.getpid()}{path.suffix}")
    write(scratch)
    os.replace(scratch, path)


def _awkward_table():
    import pandas as pd
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=10000, n_features=24, n_informative=10,
                               n_redundant=6, n_classes=3, n_clusters_per_class=2,
                               class_sep=0.9, flip_y=0.02, random_state=0)
    rng = np.random.default_rng(0)
    x[:, :6] = np.exp(x[:, :6])                        # skewed
    x[:, 6:12] *= 10.0 ** rng.integers(-3, 4, size=6)  # scales from 1e-3 to 1e3
    rows = rng.random(x.shape) < 0.01                  # gross outliers, 1% of cells
    x[rows] *= rng.choice([-50.0, 50.0], size=int(rows.sum()))
    holes = rng.random((x.shape[0], 6)) < 0.05         # 5% missing in six columns
    x[:, 12:18][holes] = np.nan
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
    frame["label"] = y
    return frame
