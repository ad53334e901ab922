"""Run dirs built for real once per session: a healthy run and one per pathology."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from honed.errors import HonedError
from honed.spec.template import spec_from_dict
from honed.train.session import train_spec

WINE = {"source": "builtin:wine"}
SPECS = {
    # small MLP, sensible lr: must get no finding
    "healthy": {"data": WINE, "model": {"family": "mlp", "hidden": 32},
                "train": {"epochs": 12, "optimizer": {"name": "adamw", "lr": 3e-3}}},
    # a learning rate of 10 with plain SGD: the loss blows up
    "diverged": {"data": WINE, "model": {"family": "mlp", "hidden": 32},
                 "train": {"epochs": 5, "optimizer": {"name": "sgd", "lr": 10}}},
    # two hidden units for ten digit classes
    "underfit": {"data": {"source": "builtin:digits", "limit": 600},
                 "model": {"family": "mlp", "hidden": 2, "depth": 1},
                 "train": {"epochs": 8, "optimizer": {"name": "adamw", "lr": 1e-2}}},
    # a wide net, no regularization, 32 training rows, many epochs
    "overfit": {"data": {"source": "builtin:breast_cancer", "limit": 80,
                         "split": {"val": 0.4, "test": 0.2}},
                "model": {"family": "mlp", "hidden": 128},
                "train": {"epochs": 20, "batch_size": 16,
                          "optimizer": {"name": "adam", "lr": 1e-2}}},
    # a hidden layer whose ReLUs never fire (bias far below zero)
    "dead": {"data": WINE, "model": {"family": "tests.report.nets:dead_relu"},
             "train": {"epochs": 3}},
    # eight sigmoid layers from a small normal init: the first layers get no gradient
    "vanishing": {"data": WINE, "model": {"family": "mlp", "hidden": 16, "depth": 8,
                                          "activation": "sigmoid", "init": "normal"},
                  "train": {"epochs": 3, "optimizer": {"name": "sgd", "lr": 1e-2}}},
    # plain SGD at 1e-6: the weights barely move
    "slow": {"data": WINE, "model": {"family": "mlp", "hidden": 32},
             "train": {"epochs": 6, "optimizer": {"name": "sgd", "lr": 1e-6}}},
    # patience 1 on a coarse metric (accuracy on 27 rows) while the loss still falls
    "impatient": {"data": WINE, "model": {"family": "mlp", "hidden": 16},
                  "train": {"epochs": 40, "optimizer": {"name": "adamw", "lr": 1e-3},
                            "early_stopping": {"patience": 1, "monitor": "val.accuracy"}}},
    # compressed (int8) and exported through honed run: the report's last sections
    "shipped": {"data": WINE, "model": {"family": "mlp", "hidden": 32},
                "train": {"epochs": 5, "optimizer": {"name": "adamw", "lr": 3e-3}},
                "compress": {"quantize": {"method": "int8"}}, "export": {}},
    # diabetes regression, for the report's predicted-against-true figure
    "regression": {"data": {"source": "builtin:diabetes"}, "model": {"family": "mlp",
                                                                     "hidden": 32},
                   "train": {"epochs": 5, "optimizer": {"name": "adamw", "lr": 3e-3}}},
}


def build(root: Path, name: str, raw: dict) -> Path:
    """Train ``raw`` into ``root/name`` as honed train does; a diverging fit stops with an error."""
    out = root / name
    if "compress" in raw:  # compress and export are stages of honed run
        from honed.pipeline import run

        run(spec_from_dict({"name": name, **raw}), out_dir=out, progress=False)
        return out
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HONED_ALLOW_IMPORT", "tests.report.nets")  # the "dead" family
            train_spec(spec_from_dict({"name": name, **raw}), out_dir=out, progress=False)
    except HonedError:
        pass  # NonFiniteLossError: the run dir keeps what was written before it
    return out


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Every run of SPECS, built lazily on first use."""
    root = tmp_path_factory.mktemp("runs")

    class Runs(dict):
        def __missing__(self, name):
            raw = _imbalanced_spec(root) if name == "imbalanced" else SPECS[name]
            self[name] = build(root, name, raw)
            return self[name]

    return Runs()


def _imbalanced_spec(root: Path) -> dict:
    """A CSV with 12% of rows in the rare class, whose features overlap the common one."""
    import pandas as pd

    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.12).astype(int)
    x = rng.normal(size=(300, 4)) + 0.8 * y[:, None]
    path = root / "imbalanced.csv"
    frame = pd.DataFrame({f"f{i}": x[:, i] for i in range(4)})
    frame["label"] = np.where(y == 1, "rare", "common")
    frame.to_csv(path, index=False)
    return {"data": {"source": str(path), "target": "label"},
            "model": {"family": "mlp", "hidden": 16},
            "train": {"epochs": 10, "optimizer": {"name": "adamw", "lr": 1e-2}}}


@pytest.fixture(scope="session")
def study_run(tmp_path_factory) -> Path:
    """honed run on a grid whose lr range is far too low: the best trials sit on its top."""
    from honed.pipeline import run

    out = tmp_path_factory.mktemp("study") / "run"
    raw = {"name": "lowlr", "data": WINE, "model": {"family": "mlp", "hidden": 16},
           "train": {"epochs": 3, "optimizer": {
               "name": "adamw", "lr": {"float": [0.001, 0.011], "step": 0.002}}},
           "search": {"trials": 6, "sampler": "grid", "pruner": "none",
                      "objectives": ["val.loss:min"]}}
    run(spec_from_dict(raw), out_dir=out, progress=False)
    return out
