"""Successive halving for multi-objective studies, ranked by non-dominated sorting.

Optuna 5 raises ``NotImplementedError`` from ``Trial.report`` and ``Trial.should_prune`` in
multi-objective studies, so its pruners never see a multi-objective trial. honed's training
callback stores each epoch's objective vector as the user attribute ``honed.step.{step}`` and
calls :meth:`MultiObjectiveSuccessiveHalvingPruner.prune` itself.

The pruner mirrors Optuna's ``SuccessiveHalvingPruner`` step for step; only the comparison at a
rung changes: trials are ordered by non-dominated front, then by crowding distance within a front.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial

__all__ = ["INTERMEDIATE_PREFIX", "RUNG_PREFIX", "MultiObjectiveSuccessiveHalvingPruner",
           "crowding_distance", "intermediate_vectors", "nondominated_ranks", "report_vector"]

INTERMEDIATE_PREFIX = "honed.step."
RUNG_PREFIX = "honed.rung."
_SIGNS = {"minimize": 1.0, "maximize": -1.0}


def intermediate_vectors(trial: FrozenTrial) -> dict[int, list[float]]:
    """The objective vectors a trial reported, keyed by step in ascending order."""
    out: dict[int, list[float]] = {}
    for key, value in trial.user_attrs.items():
        if not key.startswith(INTERMEDIATE_PREFIX):
            continue
        suffix = key[len(INTERMEDIATE_PREFIX):]
        if not suffix.isdigit():
            raise ValueError(f"user attr {key!r} of trial {trial.number} must end in a "
                             f"non-negative integer step; got {suffix!r}")
        out[int(suffix)] = [float(v) for v in value]
    return dict(sorted(out.items()))


def report_vector(trial: optuna.Trial, step: int, values: Sequence[float]) -> None:
    """Store one step's objective vector, the multi-objective ``trial.report``.

    Like ``trial.report``, a second report at the same step is ignored with a warning.

    Args:
        trial: The running trial.
        step: Epoch index, 0-based.
        values: One float per study direction, in direction order; finite or NaN.

    Example:
        >>> report_vector(trial, 0, [val_loss, latency_ms])  # doctest: +SKIP
    """
    if isinstance(step, bool) or int(step) != step or step < 0:
        raise ValueError(f"step must be a non-negative int; got {step!r}")
    try:
        vector = [float(v) for v in values]
    except (TypeError, ValueError):
        raise TypeError(f"values must be a sequence of floats; got {values!r}") from None
    n_obj = len(trial.study.directions)
    if len(vector) != n_obj:
        raise ValueError(f"values must hold one float per study direction ({n_obj}); "
                         f"got {len(vector)}: {vector}")
    if any(math.isinf(v) for v in vector):
        raise ValueError(f"values must be finite or NaN; got {vector}")
    key = f"{INTERMEDIATE_PREFIX}{int(step)}"
    if key in trial.user_attrs:
        warnings.warn(f"the vector reported at step={step} is ignored: that step is already "
                      "reported", UserWarning, stacklevel=2)
        return
    trial.set_user_attr(key, vector)


def _as_2d(values: np.ndarray) -> np.ndarray:
    # One row per trial; a 1-D input is one objective.
    values = np.asarray(values, dtype=float)
    return values[:, None] if values.ndim == 1 else values


def _signs(directions: Sequence[str | StudyDirection]) -> np.ndarray:
    # +1 keeps a minimised column as is, -1 turns a maximised one into a loss.
    signs = []
    for d in directions:
        name = d.name.lower() if isinstance(d, StudyDirection) else d
        if name not in _SIGNS:
            raise ValueError(f"directions must be 'minimize' or 'maximize'; got {d!r}")
        signs.append(_SIGNS[name])
    return np.asarray(signs)


def nondominated_ranks(values: np.ndarray, directions: Sequence[str | StudyDirection]
                       ) -> np.ndarray:
    """Front index of each row (0 = Pareto front); rows holding NaN share the last front.

    Example:
        >>> nondominated_ranks(np.array([[1, 2], [2, 1], [2, 2]]), ["minimize"] * 2)
        array([0, 0, 1])
    """
    loss = _as_2d(values) * _signs(directions)
    finite = ~np.isnan(loss).any(axis=1)
    # dominates[i, j]: i is no worse than j everywhere and better somewhere. NaN rows neither
    # dominate nor get dominated here; they are put behind everything below.
    no_worse = (loss[:, None, :] <= loss[None, :, :]).all(axis=2)
    better = (loss[:, None, :] < loss[None, :, :]).any(axis=2)
    dominates = no_worse & better & finite[:, None] & finite[None, :]
    ranks = np.zeros(len(loss), dtype=int)
    remaining, rank = finite.copy(), 0
    while remaining.any():
        front = remaining & ~(dominates & remaining[:, None]).any(axis=0)
        ranks[front] = rank
        remaining &= ~front
        rank += 1
    ranks[~finite] = rank
    return ranks


def crowding_distance(values: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of the rows of one front (larger = more isolated).

    Per objective, a row holding the front's minimum or maximum gets ``inf``; any other row gets
    the gap between the nearest *distinct* values below and above it, divided by the objective's
    range, so identical rows always get identical distances. An objective with zero range (or
    NaN) adds nothing. Directions do not matter: the measure is symmetric.
    """
    values = _as_2d(values)
    dist = np.zeros(len(values))
    for col in values.T:
        lo, hi = col.min(initial=np.inf), col.max(initial=-np.inf)
        if not hi > lo:
            continue
        distinct = np.unique(col)
        pos = np.searchsorted(distinct, col)
        below = distinct[np.maximum(pos - 1, 0)]
        above = distinct[np.minimum(pos + 1, len(distinct) - 1)]
        with np.errstate(invalid="ignore"):
            gap = (above - below) / (hi - lo)
        gap = np.where(np.isnan(gap), 0.0, gap)  # inf - inf spans say nothing about spacing
        gap[(col == lo) | (col == hi)] = np.inf
        dist += gap
    return dist


class MultiObjectiveSuccessiveHalvingPruner(BasePruner):
    """Asynchronous successive halving whose rungs rank trials by non-dominated sorting.

    Exactly Optuna's ``SuccessiveHalvingPruner`` schedule: a trial at rung ``r`` is judged when
    its last reported step reaches ``min_resource * reduction_factor ** (min_early_stopping_rate
    + r)`` (0-based steps, so with the defaults rung 0 is judged at step 1). Its vector at that
    step is recorded as the user attr ``honed.rung.{r}``; the competitors are all other trials,
    any state, holding that attr, plus the trial itself (``n`` in all). It is promoted iff fewer
    than ``max(1, n // reduction_factor)`` competitors rank strictly ahead of it, where ``a``
    ranks ahead of ``b`` when its front is lower, or the front is the same and its crowding
    distance (within that front) is larger; ties are promoted, as in Optuna. A trial judged at a
    step that has a NaN in its vector is pruned outright, as Optuna does; a NaN vector recorded by
    another trial ranks behind every finite one. A single-objective study works too (the value
    alone is the vector; ``trial.report`` values are read when no vector was stored), and then
    decides exactly as Optuna's pruner does with ``min_trials_per_rung=1``.

    Args:
        min_resource: With rate 0, the 0-based step at which rung 0 is judged (>= 1).
        reduction_factor: About ``1 / reduction_factor`` of the trials pass each rung (>= 2).
        min_early_stopping_rate: Multiplies every rung's step by ``reduction_factor ** rate``.
        min_trials_per_rung: While fewer trials than this (the judged one included) have
            reached a rung, trials pass it unjudged. The default 3 equals the default
            ``reduction_factor``: no trial is pruned on a rung's first "best of one or two"
            comparison, which in a multi-objective study mostly just means an early trial
            happened to dominate it. 1 reproduces Optuna (``bootstrap_count=0``).
        max_rungs: Judge at most this many rungs; a trial past the last one runs to the end.
            None (the default) adds rungs for as long as the trial reports steps.
    """

    def __init__(self, *, min_resource: int = 1, reduction_factor: int = 3,
                 min_early_stopping_rate: int = 0, min_trials_per_rung: int = 3,
                 max_rungs: int | None = None) -> None:
        errors = [f"{name} must be an int >= {low}; got {value!r}" for name, value, low in (
            ("min_resource", min_resource, 1), ("reduction_factor", reduction_factor, 2),
            ("min_early_stopping_rate", min_early_stopping_rate, 0),
            ("min_trials_per_rung", min_trials_per_rung, 1),
            ("max_rungs", 1 if max_rungs is None else max_rungs, 1))
            if isinstance(value, bool) or not isinstance(value, int) or value < low]
        if errors:
            raise ValueError("; ".join(errors))
        self._min_resource = min_resource
        self._reduction_factor = reduction_factor
        self._min_early_stopping_rate = min_early_stopping_rate
        self._min_trials_per_rung = min_trials_per_rung
        self._max_rungs = max_rungs

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        """Whether ``trial`` should stop now; records its rung vectors as a side effect."""
        n_obj = len(study.directions)
        vectors: dict[int, Any] = {}
        if n_obj == 1:  # so that trial.report + trial.should_prune work in one-objective studies
            vectors = {s: [v] for s, v in trial.intermediate_values.items()}
        vectors.update(intermediate_vectors(trial))
        if not vectors:
            return False
        step = max(vectors)
        vector = _checked(vectors[step], n_obj, f"{INTERMEDIATE_PREFIX}{step} of trial "
                          f"{trial.number}")
        # Read the rungs already passed from storage, not from `trial`: a Trial's cached
        # snapshot (what trial.should_prune hands us) never sees attrs we write to storage.
        passed = study._storage.get_trial(trial._trial_id).user_attrs
        rung = 0
        while f"{RUNG_PREFIX}{rung}" in passed:
            rung += 1
        others: list[FrozenTrial] | None = None
        while True:
            exponent = self._min_early_stopping_rate + rung
            if step < self._min_resource * self._reduction_factor**exponent or (
                    self._max_rungs is not None and rung >= self._max_rungs):
                return False
            if any(math.isnan(v) for v in vector):
                return True
            if others is None:
                others = [t for t in study.get_trials(deepcopy=False)
                          if t._trial_id != trial._trial_id]
            key = f"{RUNG_PREFIX}{rung}"
            study._storage.set_trial_user_attr(trial._trial_id, key, vector)
            competing = [_checked(t.user_attrs[key], n_obj, f"{key} of trial {t.number}")
                         for t in others if key in t.user_attrs]
            competing.append(vector)  # the judged trial is always the last row
            if len(competing) >= self._min_trials_per_rung and not _promotable(
                    np.asarray(competing), self._reduction_factor, study.directions):
                return True
            rung += 1


def _checked(value: Any, n_obj: int, where: str) -> list[float]:
    vector = [float(v) for v in value]
    if len(vector) != n_obj:
        raise ValueError(f"{where} must hold one float per study direction ({n_obj}); "
                         f"got {vector}")
    return vector


def _promotable(values: np.ndarray, reduction_factor: int,
                directions: Sequence[StudyDirection]) -> bool:
    # Optuna promotes the top max(1, n // eta) trials (floor, not ceil) and keeps ties.
    ranks = nondominated_ranks(values, directions)
    front = ranks == ranks[-1]
    crowding = crowding_distance(values[front])
    ahead = np.count_nonzero(ranks < ranks[-1]) + np.count_nonzero(crowding > crowding[-1])
    return bool(ahead < max(1, len(values) // reduction_factor))
