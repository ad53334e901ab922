"""Does the fine-tuning recipe pay? Test accuracy on a small target task, three ways.

    python bench/finetune_recipe.py [--seeds 3] [--rows 10] [--epochs 30] [--factor 0.1]

Source task: a CNN learns the 5,000-image MNIST subset (``builtin:mnist``), its 28x28 images
cropped to the central 24x24 and averaged down to 8x8; its weights are written to a
.safetensors file. Target task: scikit-learn's 8x8 digits (another source of handwritten digits,
scanned and reduced differently) with only ``--rows`` training images per class (validation 20
per class, test: the rest, about 1,500). Each seed trains the target three ways, with the same
optimizer (AdamW, lr 3e-3, cosine with 1 epoch of warmup) and epochs:

- ``scratch``: a fresh CNN;
- ``finetune``: ``init_from`` the source (new head), every weight at the same rate;
- ``recipe``: ``init_from`` the source, convolutions and dense layer frozen for the first third
  of the epochs, then unfrozen at ``backbone_lr_factor`` ``--factor``.

It uses only the library calls ``honed train`` makes (``load_weights``, ``freeze``,
``backbone_names``, ``fit``), and prints the mean and spread of the test accuracy per arm.
Accuracy is deterministic per seed on CPU; the time column is one run on whatever machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from honed.data.dataset import PreparedData, Split
from honed.models import backbone_names, create_model, freeze, load_weights
from honed.train import fit
from honed.train.evaluate import evaluate_arrays

KNOBS = {"channels": [16, 32], "hidden": 64}
OPTIMIZER = {"name": "adamw", "lr": 3e-3, "weight_decay": 1e-4}
SCHEDULE = {"name": "cosine", "warmup_epochs": 1}


def _digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = ((digits.images - 8.0) / 8.0).astype(np.float32)[:, None]  # 0..16 -> -1..1
    return x, digits.target.astype(np.int64)


def _mnist_8x8():
    from honed.data.builtin import mnist

    raw = mnist()
    images = np.asarray(raw.x, dtype=np.float32).reshape(-1, 28, 28)[:, 2:26, 2:26]
    small = images.reshape(-1, 8, 3, 8, 3).mean(axis=(2, 4)) / 255.0  # 0..1
    return (small * 2.0 - 1.0)[:, None].astype(np.float32), np.asarray(raw.y, dtype=np.int64)


def _data(x, y, train, val, test) -> PreparedData:
    return PreparedData(train=Split(x[train], y[train]), val=Split(x[val], y[val]),
                        test=Split(x[test], y[test]), task="classification", kind="image",
                        input_shape=(1, 8, 8), num_outputs=10,
                        class_names=[str(c) for c in range(10)])


def source_weights(folder: Path, epochs: int) -> Path:
    x, y = _mnist_8x8()
    rows = np.random.default_rng(0).permutation(len(y))
    cut = len(rows) * 9 // 10
    data = _data(x, y, rows[:cut], rows[cut:], rows[cut:])
    torch.manual_seed(0)
    model = create_model("cnn", input_shape=(1, 8, 8), num_outputs=10, **KNOBS)
    fit(model, data, epochs=epochs, batch_size=64, optimizer=OPTIMIZER, schedule=SCHEDULE,
        threads=1)
    accuracy = evaluate_arrays(model, data.val.x, data.val.y, task="classification")["accuracy"]
    print(f"source: MNIST at 8x8, {cut} training images, val accuracy {accuracy:.3f}")
    file = folder / "source.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, file)
    return file


def target(x, y, seed: int, rows: int) -> PreparedData:
    rng = np.random.default_rng(seed)
    train, val, test = [], [], []
    for label in range(10):
        index = rng.permutation(np.flatnonzero(y == label))
        train += list(index[:rows])
        val += list(index[rows:rows + 20])
        test += list(index[rows + 20:])
    return _data(x, y, np.array(train), np.array(val), np.array(test))


def arm(name: str, data: PreparedData, weights: Path, seed: int, epochs: int,
        factor: float) -> float:
    torch.manual_seed(seed)
    model = create_model("cnn", input_shape=(1, 8, 8), num_outputs=10, **KNOBS)
    options = {}
    if name != "scratch":
        load_weights(model, weights, exclude=["head.*"])
        options["backbone"] = backbone_names(model, ["head.*"])
    if name == "recipe":
        freeze(model, ["features", "dense"])
        options.update(unfreeze_after=epochs // 3, backbone_lr_factor=factor)
    fit(model, data, epochs=epochs, batch_size=16, optimizer=OPTIMIZER, schedule=SCHEDULE,
        seed=seed, threads=1, **options)
    return evaluate_arrays(model, data.test.x, data.test.y, task="classification")["accuracy"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=10, help="training images per class")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--factor", type=float, default=0.1, help="the recipe's factor")
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = _digits()
    arms = ("scratch", "finetune", "recipe")
    scores: dict[str, list[float]] = {name: [] for name in arms}
    seconds = dict.fromkeys(arms, 0.0)
    with tempfile.TemporaryDirectory() as folder:
        weights = source_weights(Path(folder), epochs=10)
        for seed in range(args.seeds):
            data = target(x, y, seed, args.rows)
            for name in arms:  # interleaved: load on a shared machine hits every arm alike
                began = time.perf_counter()
                scores[name].append(arm(name, data, weights, seed, args.epochs, args.factor))
                seconds[name] += time.perf_counter() - began
    print(f"target: scikit-learn digits, {args.rows} training images per class, {args.epochs} epochs, "
          f"{args.seeds} seeds, recipe factor {args.factor}")
    print(f"{'arm':<10}{'test accuracy':>16}{'min':>8}{'max':>8}{'seconds':>10}")
    for name in arms:
        values = scores[name]
        print(f"{name:<10}{statistics.mean(values):>16.3f}{min(values):>8.3f}"
              f"{max(values):>8.3f}{seconds[name]:>10.1f}")


if __name__ == "__main__":
    main()
