"""How fast could any search be: time to the target for a sampler told the best choices up front.

    python bench/search_bound.py --from-studies DIR --dataset mnist1d --target 0.985 \
        [--methods random] [--seeds 10] [--replays 2000]

``bench/search_speed.py --keep DIR`` leaves one study folder per search. This script groups the
complete trials of the searches named by ``--methods`` into cells, one per combination of the
categorical parameters (the choices: channels, kernel size, batch size, ...). For each cell it
replays streams drawn at random from that cell's trials alone and prints the median time to the
first trial at or above the target, in full trial seconds (set-up and every epoch, no pruning).

The best cell's figure is what an oracle would get that knows the best value of every choice
before the first trial and draws the numeric parameters (learning rate, width, dropout) as the
named searches drew them. With ``--methods random`` those draws are uniform; with
``--methods random,tpe`` they include TPE's, already concentrated where the values are good,
which makes the bound tighter than any real search starts with. A search that is to be k times
faster than another must reach the target in 1/k of that one's time: when that is below the
oracle's, no sampler reaches it on this space without knowing it beforehand.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np
import optuna

# this folder is on sys.path when a script here runs
from pruner_replay import Trial, load_trials, replay_parser


def cells(trials: list[Trial]) -> dict[tuple, list[Trial]]:
    """Trials grouped by the values of their categorical (non-numeric) parameters."""
    ranges = _numeric_ranges(trials)
    grouped: dict[tuple, list[Trial]] = defaultdict(list)
    for trial in trials:
        grouped[tuple((n, v) for n, v in trial.params if n not in ranges)].append(trial)
    return grouped


def _numeric_ranges(trials: list[Trial]) -> set[str]:
    """Parameters that are ranges, not choices: floats, and ints taking many values."""
    values: dict[str, set] = defaultdict(set)
    for trial in trials:
        for name, value in trial.params:
            values[name].add(value)
    return {name for name, seen in values.items()
            if any(isinstance(v, float) for v in seen)
            or (all(isinstance(v, int) for v in seen) and len(seen) > 8)}


def time_to_target(pool: list[Trial], target: float, budget: float,
                   rng: np.random.Generator) -> float:
    clock = 0.0
    while clock <= budget:
        trial = pool[rng.integers(0, len(pool))]
        clock += trial.setup + sum(trial.seconds)
        if trial.value >= target:
            return clock if clock <= budget else float("inf")
    return float("inf")


def main() -> None:
    parser = replay_parser(__doc__, methods="random", replays=2000, methods_help=(
        "searches whose trials (complete ones) make the cells"))
    parser.add_argument("--min-trials", type=int, default=8,
                        help="cells with fewer complete trials are left out")
    parser.add_argument("--top", type=int, default=5, help="cells to print")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    trials = load_trials(Path(args.from_studies), args.dataset, args.methods.split(","),
                         args.seeds, "accuracy")
    grouped = {k: v for k, v in cells(trials).items() if len(v) >= args.min_trials}
    names = sorted({name for key in grouped for name, _ in key})
    print(f"{len(trials)} complete trials from {args.methods}, {len(grouped)} cells of "
          f"{' x '.join(names)} with at least {args.min_trials} trials; target {args.target}, "
          f"{args.replays} replays of {args.budget:.0f}s per cell")
    rng = np.random.default_rng(0)
    rows = []
    for key, pool in grouped.items():
        times = np.array([time_to_target(pool, args.target, args.budget, rng)
                          for _ in range(args.replays)])
        rows.append((float(np.median(times)), key, len(pool),
                     sum(t.value >= args.target for t in pool) / len(pool),
                     statistics.median(t.setup + sum(t.seconds) for t in pool)))
    rows.sort(key=lambda row: row[0])
    print(f"{'median s':>9s} {'trials':>6s} {'hit':>5s} {'trial s':>8s}  cell")
    for median, key, count, hit, seconds in rows[:args.top]:
        cell = ", ".join(f"{name.rsplit('.', 1)[-1]}={value}" for name, value in key)
        print(f"{median:9.1f} {count:6d} {hit:5.2f} {seconds:8.1f}  {cell}")


if __name__ == "__main__":
    main()
