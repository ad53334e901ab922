"""Trials per minute of ``honed tune`` with 1 and with 2 local workers on the same study.

    python bench/workers.py [--trials 16] [--epochs 40] [--repeats 3]

Runs the same spec (digits MLP, random sampler, no pruner, so every trial does the same work)
as ``honed tune --workers 1`` and ``--workers 2`` with the same number of trials, alternately
within one run, each into a fresh temp folder. Prints two rates per setting: trials per minute
inside the study (first trial start to last trial end, from the storage) and end to end (the
command's wall clock, process start-up and results included); the figure is their ratio
(target: 2 workers at least 1.8x as many trials per minute as 1 on 2 cores). With one worker
``honed tune`` runs trials in process on every core; with two, each worker gets half.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna

SPEC = """\
name: bench-workers
seed: 0
data: {{source: builtin:digits}}
model: {{family: mlp, hidden: {{int: [64, 128]}}, dropout: {{float: [0.0, 0.3]}}}}
train: {{epochs: {epochs}, batch_size: 32, optimizer: {{name: adamw, lr: {{float: [1.0e-3, 1.0e-2], log: true}}}}}}
search: {{trials: {trials}, sampler: random, pruner: none, objectives: ["val.accuracy:max"]}}
"""


def run_once(workers: int, trials: int, epochs: int) -> tuple[float, float, float]:
    """(trials per minute inside the study, trials per minute end to end, mean trial seconds)."""
    with tempfile.TemporaryDirectory(prefix="honed-bench-") as folder:
        spec = Path(folder) / "spec.yaml"
        spec.write_text(SPEC.format(trials=trials, epochs=epochs))
        out = Path(folder) / "run"
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "honed.cli.main", "tune", str(spec), "--workers",
                        str(workers), "--out", str(out), "--quiet"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - began
        study = optuna.load_study(study_name="bench-workers",
                                  storage=f"sqlite:///{out / 'study' / 'study.db'}")
        done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert len(done) == trials, f"{len(done)} of {trials} trials complete"
        span = (max(t.datetime_complete for t in done)
                - min(t.datetime_start for t in done)).total_seconds()
        mean = statistics.mean(t.duration.total_seconds() for t in done)
    return 60 * trials / span, 60 * trials / wall, mean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{cores} cores, {args.trials} trials of {args.epochs} epochs, "
          f"load average {os.getloadavg()[0]:.2f}")
    rates: dict[int, list[tuple[float, float, float]]] = {1: [], 2: []}
    for _ in range(args.repeats):
        for workers in (1, 2):
            rates[workers].append(run_once(workers, args.trials, args.epochs))
            study, wall, mean = rates[workers][-1]
            print(f"  {workers} worker(s): {study:6.1f} trials/min in the study, "
                  f"{wall:6.1f} end to end, {mean:5.2f} s per trial")
    med = {w: tuple(statistics.median(r[i] for r in rates[w]) for i in range(2)) for w in rates}
    print(f"2 workers / 1 worker: {med[2][0] / med[1][0]:.2f}x trials per minute in the study, "
          f"{med[2][1] / med[1][1]:.2f}x end to end (target >= 1.8x)")


if __name__ == "__main__":
    main()
