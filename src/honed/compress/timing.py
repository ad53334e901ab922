"""Interleaved timing: every model timed in every round, so load hits them all alike.

Timing each model once, one after the other, lets a burst of load on a shared machine land
on one model only: a run once chose an int8 variant 1.29x slower than the baseline. Here each
round times every model (in an order rotated from round to round) with a few calls each and
keeps the median of those calls; a variant's speed-up is then the median, over rounds, of
``baseline / variant`` measured in the *same* round, a ratio that a load swing shared by both
sides of the division cannot move much.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from honed.compress.measure import median_ms

__all__ = ["ROUNDS", "interleaved_samples", "median_speedup", "onnx_samples",
           "latency_and_speedup"]

ROUNDS = 7  # rounds of every model; the median of 7 ratios ignores 3 bad rounds
_CALLS = 20  # timed calls of a model per round (its median is the round's figure)
_MIN_CALLS = 3


def interleaved_samples(calls: Mapping[str, Callable[[], object]], *, rounds: int = ROUNDS,
                        repeats: int = _CALLS, warmup: int = 3, budget_s: float = 0.25
                        ) -> dict[str, list[float]]:
    """Per model, the median milliseconds of its calls in each round, rounds interleaved.

    Args:
        calls: name to a function running the model once.
        rounds: rounds; each times every model, starting one further along each time.
        repeats: timed calls of a model per round.
        warmup: untimed calls of each model before the first round.
        budget_s: a model stops a round's calls after this long (keeping at least 3).

    Returns:
        ``{name: [ms of round 1, ms of round 2, ...]}``.
    """
    names = list(calls)
    for name in names:
        for _ in range(warmup):
            calls[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names) if names else 0
        for name in names[shift:] + names[:shift]:
            samples[name].append(median_ms(calls[name], repeats=repeats, warmup=0,
                                               budget_s=budget_s, min_repeats=_MIN_CALLS))
    return samples


def median_speedup(baseline: Sequence[float], variant: Sequence[float]) -> float:
    """The median over rounds of ``baseline / variant`` (round by round); above 1 is faster.

    Example:
        >>> median_speedup([1.0, 9.0, 1.0], [0.5, 4.0, 0.5])  # round 2 was loaded for both
        2.0
    """
    if len(baseline) != len(variant) or not baseline:
        raise ValueError("speed-ups compare the same rounds: give one figure per round each")
    return statistics.median(b / v for b, v in zip(baseline, variant, strict=True))


def onnx_samples(paths: Mapping[str, str | Path], input_shape: Sequence[int], *,
                 batches: Sequence[int], threads: int | None = None, rounds: int = ROUNDS,
                 repeats: int = _CALLS, warmup: int = 3, budget_s: float = 0.25
                 ) -> dict[int, dict[str, list[float]]]:
    """Interleaved samples of ONNX files at each batch size: ``{batch: {name: [ms, ...]}}``.

    One session per file (from :func:`honed.export.runtime.ort_session`) serves every batch;
    the inputs are the same seeded values for every model.
    """
    from honed.compress.measure import _inputs
    from honed.export.runtime import ort_session

    sessions = {name: ort_session(path, threads=threads) for name, path in paths.items()}
    out = {}
    for batch in batches:
        x = _inputs(input_shape, batch)
        calls = {name: _runner(session, x) for name, session in sessions.items()}
        out[batch] = interleaved_samples(calls, rounds=rounds, repeats=repeats, warmup=warmup,
                                         budget_s=budget_s)
    return out


def _runner(session, x) -> Callable[[], object]:
    feed = {session.get_inputs()[0].name: x}
    return lambda: session.run(None, feed)


def latency_and_speedup(samples: Mapping[int, Mapping[str, Sequence[float]]], name: str,
                        baseline: str) -> tuple[dict[str, float], dict[str, float]]:
    """A row's ``latency_ms`` (median of rounds) and ``speedup`` (against ``baseline``)."""
    latency = {f"batch{b}": round(statistics.median(by_name[name]), 5)
               for b, by_name in samples.items()}
    speedup = {f"batch{b}": round(median_speedup(by_name[baseline], by_name[name]), 4)
               for b, by_name in samples.items()}
    return latency, speedup
