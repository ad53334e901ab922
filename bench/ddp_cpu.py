"""DDP on CPU: 2 processes x 1 thread against 1 process x 2 threads (and x 1), in one run.

    python bench/ddp_cpu.py [--repeats 3] [--epochs 3] [--rows 20000]

Trains the digits CNN (examples/digits.yaml's default point, with its augmentation) and a
larger MLP (3 x 512 on a synthetic ``--rows`` x 64 table, batch 256) with ``honed train``'s
two paths: :func:`honed.train.launch.train_distributed` over 2 gloo processes of one torch
thread each, and :func:`honed.train.session.train_spec` in this process with two threads, and
with one (the reference both are a speed-up of). The settings take turns within each round, in
a rotating order, so that the machine's load swings hit all of them alike. Throughput is training rows per second of the epochs after the first (each epoch
also validates, on rank 0 under DDP); figures are medians over the rounds, the ratio is of
those medians. Process start-up and data preparation are not counted. The 1-minute load
average is printed at each round: on a shared machine it decides much of the answer.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
from pathlib import Path

import numpy as np
import yaml

from honed.spec import load_spec
from honed.train.launch import train_distributed
from honed.train.session import preflight, resolve_spec, train_spec

ROOT = Path(__file__).resolve().parents[1]
COMMON = ["train.epochs={epochs}", "train.early_stopping=null", "train.probes=false",
          "train.checkpoint.every_epochs=1000"]


def digits_spec(epochs: int) -> tuple[Path, list[str]]:
    return ROOT / "examples" / "digits.yaml", [c.format(epochs=epochs) for c in COMMON]


def mlp_spec(folder: Path, epochs: int, rows: int) -> tuple[Path, list[str]]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, 64)).astype(np.float32)
    y = (x @ rng.standard_normal(64) + rng.standard_normal(rows) > 0).astype(np.int64)
    np.savez(folder / "table.npz", x=x, y=y)
    spec = {"name": "mlp-bench", "data": {"source": "table.npz"},
            "model": {"family": "mlp", "hidden": 512, "depth": 3},
            "train": {"batch_size": 256, "optimizer": {"name": "adamw", "lr": 1e-3}}}
    path = folder / "mlp.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path, [c.format(epochs=epochs) for c in COMMON]


def rows_per_second(outcome, rows: int) -> float:
    seconds = [record["seconds"] for record in outcome.result.history[1:]]
    return rows / statistics.median(seconds)


def one_setting(label: str, path: Path, overrides: list[str], out: Path) -> float:
    """Training rows per second of one fit in the setting ``label``."""
    if label == "2 proc x 1 thread":
        template = load_spec(path, [*overrides, "train.threads=1"])
        outcome = train_distributed(template, nproc=2, out_dir=out, progress=False,
                                    evaluate_test=False)
    else:
        threads = label.split(" x ")[1].split()[0]
        template = load_spec(path, [*overrides, f"train.threads={threads}"])
        outcome = train_spec(template, out_dir=out, progress=False, evaluate_test=False)
    return rows_per_second(outcome, train_rows(path, overrides))


@functools.cache
def _rows(path: Path, overrides: tuple[str, ...]) -> int:
    data, _ = preflight(resolve_spec(load_spec(path, overrides)))
    return len(data.train.y)


def train_rows(path: Path, overrides: list[str]) -> int:
    """Training rows of the spec (prepared once per workload)."""
    return _rows(path, tuple(overrides))


def measure(name: str, path: Path, overrides: list[str], *, repeats: int, folder: Path) -> None:
    settings = ["2 proc x 1 thread", "1 proc x 2 threads", "1 proc x 1 thread"]
    speeds: dict[str, list[float]] = {label: [] for label in settings}
    loads = []
    for repeat in range(repeats):
        loads.append(os.getloadavg()[0])
        shift = repeat % len(settings)
        for index, label in enumerate(settings[shift:] + settings[:shift]):
            out = folder / f"{name}-{repeat}-{index}"
            speeds[label].append(one_setting(label, path, overrides, out))
    median = {label: statistics.median(values) for label, values in speeds.items()}
    print(f"{name}: {train_rows(path, overrides):,} training rows, {repeats} rounds, "
          f"load {min(loads):.1f}-{max(loads):.1f}")
    for label in settings:
        spread = ", ".join(f"{v:,.0f}" for v in speeds[label])
        print(f"  {label:>18}: {median[label]:9,.0f} rows/s   ({spread})")
    ddp, threads, one = (median[label] for label in settings)
    print(f"  DDP 2x1 / threads 1x2 = {ddp / threads:.2f}x   DDP 2x1 / 1x1 = {ddp / one:.2f}x"
          f"   threads 1x2 / 1x1 = {threads / one:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--only", choices=["digits", "mlp"], help="one workload")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; 1-minute load {os.getloadavg()[0]:.1f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "digits"):
            path, overrides = digits_spec(args.epochs)
            measure("digits CNN", path, overrides, repeats=args.repeats, folder=folder)
        if args.only in (None, "mlp"):
            path, overrides = mlp_spec(folder, args.epochs, args.rows)
            measure("MLP 3x512", path, overrides, repeats=args.repeats, folder=folder)


if __name__ == "__main__":
    main()
