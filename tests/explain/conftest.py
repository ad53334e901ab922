"""Tiny runs trained for real once per session: a table whose label only two columns carry,
a table that leaks its label, 8x8 digits through a CNN, MNIST-1D through a GRU, and reviews
whose sentiment only a few words carry through an embedding bag and a GRU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from honed.spec.template import spec_from_dict
from honed.train.session import train_spec
from tests.text_corpus import write_reviews

#: the only columns that carry the label of the "known" table
KNOWN = ("a", "b")
_TRAIN = {"threads": 1, "optimizer": {"name": "adamw", "lr": 1e-2}, "batch_size": 32}


def known_table(path: Path, rows: int = 300) -> Path:
    """Label ``a + b > 0``; noise columns, a noise categorical (one-hot) and a constant."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({name: rng.normal(size=rows) for name in ("a", "b", "n1", "n2")})
    frame["colour"] = rng.choice(["red", "green", "blue", "grey"], size=rows)
    frame["const"] = 1.0
    frame["label"] = np.where(frame.a + frame.b > 0, "yes", "no")
    frame.to_csv(path, index=False)
    return path


def leaky_table(path: Path, rows: int = 300) -> Path:
    """A random label and a column ``leak`` that is the label itself."""
    rng = np.random.default_rng(1)
    label = rng.integers(0, 2, size=rows)
    frame = pd.DataFrame({"n1": rng.normal(size=rows), "n2": rng.normal(size=rows),
                          "leak": label * 4.0, "label": label})
    frame.to_csv(path, index=False)
    return path


def specs(root: Path) -> dict[str, dict]:
    return {
        "known": {"data": {"source": str(known_table(root / "known.csv")), "target": "label"},
                  "model": {"family": "mlp", "hidden": 16},
                  "train": {**_TRAIN, "epochs": 12},
                  "explain": {"repeats": 3, "examples": 2, "steps": 64}},
        "leaky": {"data": {"source": str(leaky_table(root / "leaky.csv")), "target": "label",
                           "task": "classification"},
                  "model": {"family": "mlp", "hidden": 8},
                  "train": {**_TRAIN, "epochs": 6}, "explain": {"repeats": 2}},
        "digits": {"data": {"source": "builtin:digits", "limit": 300},
                   "model": {"family": "cnn", "channels": [4], "hidden": 16},
                   "train": {**_TRAIN, "epochs": 2},
                   "explain": {"repeats": 2, "examples": 1, "steps": 32}},
        "sequence": {"data": {"source": "builtin:mnist1d", "limit": 300},
                     "model": {"family": "gru", "hidden": 8, "depth": 1},
                     "train": {**_TRAIN, "epochs": 1},
                     "explain": {"repeats": 2, "examples": 1, "steps": 32}},
        # tests.text_corpus: only POSITIVE and NEGATIVE words carry the label
        "text": {"data": {"source": str(write_reviews(root)), "target": "label",
                          "text": ["review"]},
                 "model": {"family": "embedbag"},
                 "train": {**_TRAIN, "epochs": 3, "batch_size": 16,
                           "optimizer": {"name": "adamw", "lr": 3e-2}},
                 "explain": {"steps": 16}},
        "text_gru": {"data": {"source": str(write_reviews(root)), "target": "label",
                              "text": ["review"]},
                     "model": {"family": "gru", "hidden": 8, "depth": 1, "embedding_dim": 8},
                     "train": {**_TRAIN, "epochs": 2}, "explain": {"steps": 16}},
    }


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Each run of :func:`specs`, trained with ``honed train``'s function on first use."""
    root = tmp_path_factory.mktemp("explain-runs")
    raw = specs(root)

    class Runs(dict):
        def __missing__(self, name):
            out = root / name
            train_spec(spec_from_dict({"name": name, **raw[name]}), out_dir=out,
                       progress=False)
            self[name] = out
            return out

    return Runs()


@pytest.fixture(scope="session")
def mixed_run(tmp_path_factory) -> Path:
    """An embedbag trained on tests.text_corpus.mixed_reviews (label: a positive text *and*
    stars >= 3), exported with ONNX (``run/bundle``)."""
    from tests.text_corpus import train_mixed_run

    return train_mixed_run(tmp_path_factory.mktemp("explain-mixed"), export=True)
