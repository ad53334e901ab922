"""The summary of bench/search_quality.py: shipped test accuracy, paired differences, speed."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict

import numpy as np

__all__ = ["summarize", "shipped", "bootstrap_ci", "machines"]


def shipped(row: dict, mark: float) -> float:
    """Test accuracy of the best trial completed by ``mark`` seconds; nan: nothing shipped."""
    tests = [test for at, _, test in row["incumbents"] if at <= mark]
    return tests[-1] if tests else math.nan


def time_to_test(row: dict, level: float) -> float:
    """When the search first shipped a model at test accuracy ``level`` or more."""
    return next((at for at, _, test in row["incumbents"] if test >= level), math.inf)


def time_to_val(row: dict, level: float) -> float:
    return next((at for at, value in row["complete"] if value >= level), math.inf)


def bootstrap_ci(diffs: list[float], *, draws: int = 10000, seed: int = 0
                 ) -> tuple[float, float]:
    """95% percentile interval of the mean of paired differences, resampling seeds."""
    values = np.asarray(diffs)
    picks = np.random.default_rng(seed).integers(0, len(values), size=(draws, len(values)))
    means = values[picks].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def summarize(rows: list[dict], *, reference: str, marks: list[float]) -> None:
    runs: dict[str, dict[str, dict[int, dict]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:  # the longest run of each (space, peer, seed) answers every shorter mark
        have = runs[row["space"]][row["peer"]].get(row["seed"])
        if have is None or row["budget"] > have["budget"]:
            runs[row["space"]][row["peer"]][row["seed"]] = row
    for space, peers in runs.items():
        if mixed := machines(peers):
            print(f"\n{space}: lines from more than one machine ({mixed}); a paired difference "
                  "across machines holds the machines' difference too")
        ref = peers.get(reference, {})
        budget = min(r["budget"] for p in peers.values() for r in p.values())
        target = next(iter(next(iter(peers.values())).values()))["target"]
        for mark in [m for m in marks if m <= budget]:
            print(f"\n{space}, {mark / 60:g} min: shipped test accuracy; paired difference and "
                  f"time to {reference}'s accuracy (fraction of {mark / 60:g} min) per seed")
            print("(none: seeds where it had no complete trial by then, so shipped nothing; the "
                  "paired difference leaves those seeds out)")
            print(f"{'peer':18s} {'seeds':>5s} {'none':>4s} {'median':>7s} {'mean diff':>10s} "
                  f"{'med diff':>9s} "
                  f"{'95% CI':>18s} {'W/T/L':>8s} {'t/peer med':>10s} {'<=1/3':>6s} "
                  f"{'val>=' + str(target):>11s}")
            for peer, seeds in peers.items():
                tests = [shipped(r, mark) for r in seeds.values()]
                paired = [s for s in seeds if s in ref and s in seeds]
                diffs = [shipped(seeds[s], mark) - shipped(ref[s], mark) for s in paired]
                diffs = [d for d in diffs if not math.isnan(d)]
                ratios = [time_to_test(seeds[s], shipped(ref[s], mark)) / mark
                          for s in paired if not math.isnan(shipped(ref[s], mark))]
                reach = [time_to_val(r, target) for r in seeds.values()]
                low, high = bootstrap_ci(diffs) if len(diffs) > 1 else (math.nan, math.nan)
                wtl = (f"{sum(d > 0 for d in diffs)}/{sum(d == 0 for d in diffs)}/"
                       f"{sum(d < 0 for d in diffs)}")
                mean = statistics.fmean(diffs) if diffs else math.nan
                none = sum(math.isnan(t) for t in tests)
                # the median difference too: a seed where one side shipped a poor model moves the
                # mean far (MNIST-1D: TPE + Median shipped 0.15 on one seed), the median little
                print(f"{peer:18s} {len(seeds):5d} {none:4d} {_median(tests):7.4f} {mean:+10.4f} "
                      f"{_median(diffs):+9.4f} "
                      f"[{low:+.4f}, {high:+.4f}] {wtl:>8s} {_median(ratios):10.2f} "
                      f"{sum(r <= 1 / 3 for r in ratios):3d}/{len(ratios):<2d} "
                      f"{_median(reach):7.0f}s {sum(r <= mark for r in reach)}/{len(reach)}")


def machines(peers: dict[str, dict[int, dict]]) -> str | None:
    """Which peers ran on which processor (each line's ``cpu``), when there are several."""
    where: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for peer, seeds in peers.items():
        for row in seeds.values():
            where[row.get("cpu", "not recorded")][peer] += 1
    if len(where) < 2:
        return None
    return "; ".join(f"{cpu}: " + ", ".join(f"{peer} {n}" for peer, n in counts.items())
                     for cpu, counts in where.items())


def _median(values: list[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else math.nan
