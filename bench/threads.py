"""Training speed with ``train.threads`` auto against 1 thread and every core, in one run.

    python bench/threads.py [--repeats 3] [--rows 50000] [--epochs 1]

Times training epochs of the digits CNN (examples/digits.yaml's default point) and of an MLP
on a synthetic table of ``--rows`` rows, with ``threads`` = auto (chosen again before every
round, as a fresh ``honed train`` would), 1 and all usable cores. The settings take turns
within each round, in a rotating order, so that the machine's load swings hit all of them
alike; the figures are medians over the rounds, and the ratios are of those medians. The
1-minute load average is printed as it was at each round, since the point is a shared machine.
"""

from __future__ import annotations

import argparse
import os
import statistics

import numpy as np
import torch

from honed.data import PreparedData, Split, prepare_data
from honed.models import create_model
from honed.spec.schema import DataSpec
from honed.train import fit
from honed.train.threads import choose_threads, other_load, usable_cores


def synthetic_table(rows: int, features: int = 32, seed: int = 0) -> PreparedData:
    """A two-class table: a noisy linear rule over standard-normal features, 70/15/15."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features)).astype(np.float32)
    y = (x @ rng.standard_normal(features) + rng.standard_normal(rows) > 0).astype(np.int64)
    a, b = int(rows * 0.7), int(rows * 0.85)
    return PreparedData(train=Split(x[:a], y[:a]), val=Split(x[a:b], y[a:b]),
                        test=Split(x[b:], y[b:]), task="classification", kind="table",
                        input_shape=(features,), num_outputs=2)


def epoch_seconds(family: str, knobs: dict, data: PreparedData, *, threads: int,
                  epochs: int) -> float:
    """Median seconds of an epoch (training and validation) with ``threads`` torch threads."""
    torch.manual_seed(0)
    model = create_model(family, input_shape=data.input_shape, num_outputs=data.num_outputs,
                         **knobs)
    result = fit(model, data, epochs=epochs, batch_size=64, threads=threads, probes=False,
                 optimizer={"name": "adamw", "lr": 3e-3})
    return statistics.median(record["seconds"] for record in result.history)


def measure(name: str, family: str, knobs: dict, data: PreparedData, *, repeats: int,
            epochs: int) -> None:
    cores = usable_cores()
    times: dict[str, list[float]] = {"auto": [], "1": [], "all": []}
    chosen, loads = [], []
    epoch_seconds(family, knobs, data, threads=1, epochs=1)  # warm-up: one-off allocations
    for repeat in range(repeats):
        load = other_load()
        auto = choose_threads("auto", cores=cores, load=load,
                              env_threads=os.environ.get("OMP_NUM_THREADS")).threads
        chosen.append(auto)
        loads.append(os.getloadavg()[0])
        settings = [("auto", auto), ("1", 1), ("all", cores)]
        shift = repeat % len(settings)
        for label, threads in settings[shift:] + settings[:shift]:
            times[label].append(epoch_seconds(family, knobs, data, threads=threads,
                                              epochs=epochs))
    median = {label: statistics.median(values) for label, values in times.items()}
    print(f"{name}: {len(data.train):,} training rows, {repeats} rounds\n"
          f"  {cores} cores, load {min(loads):.1f}-{max(loads):.1f}; auto chose "
          f"{'/'.join(map(str, sorted(set(chosen))))} thread(s)")
    for label in times:
        spread = ", ".join(f"{t:.2f}" for t in times[label])
        print(f"  threads {label:>4}: {median[label]:7.2f} s/epoch   ({spread})")
    print(f"  all / 1 = {median['all'] / median['1']:.2f}x   auto / 1 = "
          f"{median['auto'] / median['1']:.2f}x   all / auto = "
          f"{median['all'] / median['auto']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    digits = prepare_data(DataSpec(source="builtin:digits", scale="standard",
                                   split={"val": 0.15, "test": 0.15, "stratify": True}), seed=0)
    measure("digits CNN (32, 64 channels, hidden 128)", "cnn",
            {"channels": [32, 64], "hidden": 128, "dropout": 0.2}, digits,
            repeats=args.repeats, epochs=args.epochs)
    measure(f"MLP (2 x 256) on a {args.rows:,}-row table", "mlp",
            {"hidden": 256, "depth": 2}, synthetic_table(args.rows),
            repeats=args.repeats, epochs=args.epochs)


if __name__ == "__main__":
    main()
