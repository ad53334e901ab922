"""A search whose best trials sit on a bound of the space: the optimum may lie outside it."""

from __future__ import annotations

import math
import re
import statistics

from honed.report.checks.base import Finding, fmt
from honed.report.evidence import Evidence

__all__ = ["check", "top_trials"]

#: complete trials needed before the best ones say anything about the space
MIN_TRIALS = 5
#: the best quarter of the trials (at least MIN_TOP) are "the best trials"
TOP_SHARE, MIN_TOP = 0.25, 3
#: the best trial within this share of the range (on the dimension's own scale) of a bound
#: sits "on" it
EDGE = 0.1
#: and the top trials' median lies in the outer third on that side: the good region runs into
#: the bound rather than one lucky trial landing there
CLUSTER = 1 / 3
#: names whose bound is a limit of the value itself (no dropout below 0, no momentum past 1):
#: widening there is impossible, so a best trial on it is no finding
_LIMITS = {"low": ("dropout", "weight_decay", "label_smoothing", "l1", "l2", "noise", "mixup",
                   "min_delta", "rotate", "shift", "zoom", "shear"),
           "high": ("dropout", "momentum", "beta1", "beta2", "label_smoothing", "decay")}


def top_trials(study) -> list:
    """The best quarter of the complete trials with finite values, on the first objective."""
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    complete = [t for t in study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
                if t.values and all(math.isfinite(v) for v in t.values)]
    sign = 1 if study.directions[0] == StudyDirection.MINIMIZE else -1
    complete.sort(key=lambda t: (sign * t.values[0], t.number))
    return complete[:max(MIN_TOP, round(TOP_SHARE * len(complete)))] if len(
        complete) >= MIN_TRIALS else []


def check(evidence: Evidence) -> Finding | None:
    """Numeric dimensions where the best trials cluster at a bound that could be moved."""
    study = evidence.study
    if study is None:
        return None
    top = top_trials(study)
    if not top:
        return None
    found, changes = [], []
    for name, dist in top[0].distributions.items():
        if not hasattr(dist, "low") or dist.low == dist.high:
            continue
        positions = [_position(t.params[name], dist) for t in top if name in t.params]
        if len(positions) < MIN_TOP:
            continue
        middle, best = statistics.median(positions), positions[0]
        for side, near in (("high", middle > 1 - CLUSTER and best > 1 - EDGE),
                           ("low", middle < CLUSTER and best < EDGE)):
            if near and not _is_limit(name, side, dist):
                bound = dist.high if side == "high" else dist.low
                found.append(f"{name}: best {fmt(top[0].params[name])}, top {len(positions)} "
                             f"trials' median at {middle:.0%} of [{fmt(dist.low)}, "
                             f"{fmt(dist.high)}] (the {side} bound {fmt(bound)})")
                changes.append(_widened(name, dist, side))
    if not found:
        return None
    return Finding("search_bounds", "the best trials sit on a bound of the search space: widen it",
                   "; ".join(found), changes)


def _position(value: float, dist) -> float:
    low, high, log = float(dist.low), float(dist.high), bool(getattr(dist, "log", False))
    if log:
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def _is_limit(name: str, side: str, dist) -> bool:
    leaf = name.rsplit(".", 1)[-1]
    if side == "low" and float(dist.low) <= 0:
        return True  # nothing below zero for a size, rate or strength
    return side in _LIMITS and leaf in _LIMITS[side] and (
        side == "low" or float(dist.high) >= 0.9)


def _widened(name: str, dist, side: str) -> str:
    """The override that moves the bound: ×10 on a log scale, half the range on a linear one."""
    low, high, log = dist.low, dist.high, bool(getattr(dist, "log", False))
    is_int = type(dist).__name__.startswith("Int")
    if log:
        low, high = (low, high * 10) if side == "high" else (low / 10, high)
    else:
        span = (high - low) / 2
        low, high = (low, high + span) if side == "high" else (max(0, low - span), high)
    if is_int:
        low, high = max(1, int(round(low))), int(round(high))
    # an override through a conditional option sets it in every option: drop the option label
    key = re.sub(r"\[[^\]]*\]", "", name)
    kind = "int" if is_int else "float"
    extra = ", log: true" if log else (f", step: {dist.step:g}" if getattr(dist, "step", None)
                                        and not is_int else "")
    return f"{key}={{{kind}: [{low:g}, {high:g}]{extra}}}"
