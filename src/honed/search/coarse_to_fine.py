"""Coarse-to-fine search (``search.strategy: coarse-to-fine``): explore, narrow, then exploit.

Phase 1 (``coarse``) draws quasi-random points (Optuna's ``QMCSampler``, scrambled Sobol or
Halton) over the whole space: ``search.coarse_fraction`` of ``search.trials``, at least
``max(5, D + 1)`` for ``D`` dimensions (fewer points than a simplex cannot span the space).
With ``search.timeout`` phase 1 also ends once ``coarse_fraction`` of the time has passed
(:func:`coarse_until`) and that floor of trials has ended: a study sized by its time rather
than its trials count (``trials: 100000, timeout: 10m``) still narrows.
The space is then narrowed around the top trials (:func:`narrow`) and phase 2 (``fine``)
searches it with TPE. Both phases live in one study: each trial carries the user attr
``honed.phase``, the study carries ``honed.narrowing`` ({name: {"from": ..., "to": ...}}) and
``honed.coarse_trials``. Once the narrowing is recorded phase 1 is closed: a resumed tune goes
straight on with phase 2 over the recorded bounds.

Phase 2 samples with TPE through :class:`~honed.search.narrowed_sampler.NarrowedSampler`,
which shows TPE only the trials inside the narrowed space, and narrows a choice in the sampler
rather than in ``suggest_categorical`` (an Optuna study refuses a categorical whose options
change); see there for why.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial, TrialState
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from honed.search.mo_pruner import nondominated_ranks
from honed.search.narrowed_sampler import NarrowedSampler
from honed.search.samplers import create_sampler
from honed.search.space import choice_labels, distribution
from honed.search.study import finished_count
from honed.search.sweeper import StaleTrialSweeper
from honed.search.worker import work
from honed.spec.space import Dimension, flatten

if TYPE_CHECKING:
    from honed.search.tune import StudySetup

__all__ = ["narrow", "run_coarse_to_fine", "narrowing_table", "coarse_count", "top_trials",
           "fine_sampler", "coarse_until", "PHASE_ATTR", "NARROWING_ATTR", "COARSE_ATTR"]

PHASE_ATTR, NARROWING_ATTR, COARSE_ATTR = "honed.phase", "honed.narrowing", "honed.coarse_trials"
MIN_TOP = 3  # fewer top trials than this say little about where the good region is
FINE_STARTUP = 5  # TPE random draws in phase 2 (inside the narrowed space; counts phase-1 trials)
_POLL = 1.0


def coarse_count(trials: int, fraction: float, dimensions: list[Dimension]) -> int:
    """Phase-1 trials: ``ceil(fraction * trials)``, at least ``max(5, D + 1)``, at most all."""
    share = math.ceil(fraction * trials - 1e-9)  # 0.28 * 25 is 7.000000000000001
    return min(trials, max(share, coarse_floor(dimensions)))


def coarse_floor(dimensions: list[Dimension]) -> int:
    """The fewest phase-1 trials worth narrowing from: ``max(5, D + 1)`` (a simplex's points)."""
    return max(5, len(flatten(dimensions)) + 1)


def coarse_until(deadline: float | None, timeout: float | None, fraction: float) -> float | None:
    """When phase 1's share of the time ends: ``deadline - (1 - fraction) * timeout``; or None.

    ``honed tune`` computes it once and hands it to its workers (``honed worker
    --coarse-until``), so they end phase 1 together; a worker started alone with its own
    timeout gets ``fraction`` of its own time.
    """
    if deadline is None or not timeout:
        return None
    return deadline - (1.0 - fraction) * timeout


def top_trials(study: optuna.Study, top_fraction: float) -> list[FrozenTrial]:
    """The best ``max(3, ceil(top_fraction * n))`` of ``n`` complete trials with finite values.

    Several objectives: whole non-dominated fronts, first front first, until that many are in.
    """
    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if all(math.isfinite(v) for v in t.values)]
    wanted = min(len(complete), max(MIN_TOP, math.ceil(top_fraction * len(complete) - 1e-9)))
    if len(study.directions) == 1:
        maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
        return sorted(complete, key=lambda t: t.values[0], reverse=maximize)[:wanted]
    ranks = nondominated_ranks(np.array([t.values for t in complete]), study.directions)
    chosen: list[FrozenTrial] = []
    for rank in sorted(set(ranks.tolist())):
        if len(chosen) >= wanted:
            break
        chosen += [t for t, r in zip(complete, ranks, strict=True) if r == rank]
    return chosen


def narrow(study: optuna.Study, dimensions: list[Dimension], *, top_fraction: float = 0.25,
           expand: float = 0.1) -> dict[str, Any]:
    """Bounds around the top trials, by dimension name: ``(low, high)`` or kept choice labels.

    For a float or int, on the dimension's own scale (log10 for ``log: true``), the span of the
    top trials' values is widened by ``expand`` times the full range on each side and clipped
    to the full range; ints and stepped floats then widen to the step grid of the original
    range. A choice keeps the options (in their order) that at least one top trial took. A
    dimension no top trial holds (one under an option never picked) is left out: it stays
    whole. No complete trial: an empty dict, the whole space.

    Example:
        >>> narrow(study, template.dimensions)  # doctest: +SKIP
        {'train.optimizer.lr': (0.0021, 0.04), 'model.activation': ['relu', 'gelu']}
    """
    if not 0 < top_fraction <= 1 or not expand >= 0:
        raise ValueError(f"narrow needs 0 < top_fraction <= 1 and expand >= 0; got "
                         f"{top_fraction}, {expand}")
    top = top_trials(study, top_fraction)
    bounds: dict[str, Any] = {}
    for dim in flatten(dimensions):
        values = [t.params[dim.name] for t in top if dim.name in t.params]
        if not values:
            continue
        if dim.kind == "choice":
            bounds[dim.name] = [label for label in choice_labels(dim) if label in values]
        else:
            bounds[dim.name] = _narrow_range(dim, values, expand)
    return bounds


def _narrow_range(dim: Dimension, values: list[float], expand: float) -> tuple[float, float]:
    scale = math.log10 if dim.log else float
    full_low, full_high = scale(dim.low), scale(dim.high)
    pad = expand * (full_high - full_low)
    low_s, high_s = scale(min(values)) - pad, scale(max(values)) + pad
    # the original bound itself where clipped: 10 ** log10(x) is not always x
    low = dim.low if low_s <= full_low else 10**low_s if dim.log else low_s
    high = dim.high if high_s >= full_high else 10**high_s if dim.log else high_s
    low, high = min(low, min(values)), max(high, max(values))
    if dim.kind == "float" and not dim.step:
        return float(low), float(high)
    step = dim.step or 1
    last = math.floor((dim.high - dim.low) / step + 1e-9)
    first_k = math.floor((low - dim.low) / step + 1e-9)
    last_k = min(last, math.ceil((high - dim.low) / step - 1e-9))
    if dim.kind == "int":
        return int(dim.low + first_k * step), int(dim.low + last_k * step)
    # 12 decimals: Optuna checks (high - low) % step on the decimal text of the bounds
    return round(dim.low + first_k * step, 12), round(dim.low + last_k * step, 12)


def fine_sampler(inner: optuna.samplers.BaseSampler, dimensions: list[Dimension],
                 bounds: dict[str, Any]) -> NarrowedSampler:
    """Phase 2's sampler: ``inner`` seeing the narrowed space (a choice stays whole in storage)."""
    narrowed: dict[str, BaseDistribution] = {}
    stored: dict[str, BaseDistribution] = {}
    for dim in flatten(dimensions):
        if dim.name in bounds:
            narrowed[dim.name] = distribution(dim, bounds)
            if dim.kind == "choice":
                stored[dim.name] = distribution(dim)
    return NarrowedSampler(inner, narrowed, stored)


def _record(dimensions: list[Dimension], bounds: dict[str, Any]) -> dict[str, Any]:
    return {dim.name: {"from": choice_labels(dim) if dim.kind == "choice" else [dim.low, dim.high],
                       "to": list(bounds[dim.name])}
            for dim in flatten(dimensions) if dim.name in bounds}


def _bounds(record: dict[str, Any], dimensions: list[Dimension]) -> dict[str, Any]:
    # JSON gave lists back; a numeric dimension's bounds are a (low, high) pair again
    kinds = {dim.name: dim.kind for dim in flatten(dimensions)}
    return {name: list(entry["to"]) if kinds.get(name) == "choice" else tuple(entry["to"])
            for name, entry in record.items() if name in kinds}


def narrowing_table(study: optuna.Study) -> Table | None:
    """The recorded narrowing as a table (dimension, from, to); None before phase 2."""
    record = study.user_attrs.get(NARROWING_ATTR)
    if record is None:
        return None
    coarse = study.user_attrs.get(COARSE_ATTR)
    table = Table(title=f"coarse-to-fine: space narrowed after {coarse} coarse trials")
    for column in ("dimension", "from", "to"):
        table.add_column(column)
    for name, entry in record.items():
        # escaped: rich would take the [sgd] of train.optimizer[sgd].lr for a style
        table.add_row(escape(name), _fmt(entry["from"]),
                      _fmt(entry["to"]) if entry["to"] != entry["from"] else "(unchanged)")
    return table


def _fmt(bounds: list) -> str:
    return escape(", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in bounds))


def run_coarse_to_fine(setup: StudySetup, study: optuna.Study, *, deadline: float | None,
                       worker: int = 0, trials: int | None = None,
                       phase_one_until: float | None = None,
                       console: Console | None = None) -> None:
    """Run (or continue) both phases until the study holds ``trials`` trials.

    Several workers may call this on one study: phase 2 starts once every phase-1 trial has
    ended, and the narrowing, computed from the same trials, is the same whoever records it.

    Args:
        setup: the study's setup (``honed.search.tune.prepare_study``).
        study: the study, created or loaded.
        deadline: ``time.time()`` after which no trial starts; None for none.
        worker: this worker's index (seeds phase 2's TPE apart from the other workers').
        trials: the study's size; None for ``search.trials``. Every worker must give the same
            number, which also sets the size of phase 1.
        phase_one_until: ``time.time()`` at which phase 1's share of the time ends
            (:func:`coarse_until`; the same for every worker); None: its trials alone end it.
        console: where to print the narrowing table when phase 1 ends; None prints nothing.
    """
    dims, search = setup.template.dimensions, setup.search
    spec = setup.template.default
    seed = search.seed if search.seed is not None else spec.seed
    trials = search.trials if trials is None else trials
    record = study.user_attrs.get(NARROWING_ATTR)
    if record is None:
        coarse = coarse_count(trials, search.coarse_fraction, dims)
        least = min(coarse, coarse_floor(dims))
        # one seed for every worker: they then share one QMC sequence (Optuna keeps its index
        # in the study); conditional dimensions are drawn at random, which is no mistake here
        study.sampler = optuna.samplers.QMCSampler(
            qmc_type=search.sampler.qmc_type, scramble=True, seed=seed,
            warn_independent_sampling=False)
        objective = _objective(setup, None, "coarse")
        if not _finish(study, objective, deadline, trials=coarse, least=least,
                       cut=phase_one_until):
            return  # out of time: the next run goes on with phase 1
        record = study.user_attrs.get(NARROWING_ATTR)  # another worker's, if it was quicker
        if record is None:
            record = _record(dims, narrow(study, dims))
            study.set_user_attr(COARSE_ATTR, finished_count(study))
            study.set_user_attr(NARROWING_ATTR, record)
        if console is not None:
            console.print(narrowing_table(study))
    bounds = _bounds(record, dims)
    startup = search.sampler.n_startup_trials
    tpe = create_sampler(search.sampler.model_copy(update={
        "name": "tpe", "n_startup_trials": FINE_STARTUP if startup is None else startup}),
        dimensions=dims, seed=setup.sampler_seed(worker, start=len(study.get_trials(
            deepcopy=False))), objectives=len(setup.objectives))
    study.sampler = fine_sampler(tpe, dims, bounds)
    # the trials suggest narrowed numbers but every option of a choice (see NarrowedSampler)
    numeric = {name: b for name, b in bounds.items() if isinstance(b, tuple)}
    work(study, _objective(setup, numeric, "fine"), trials=trials, deadline=deadline)


def _objective(setup: StudySetup, bounds: dict[str, Any] | None, phase: str):
    objective = setup.objective()
    objective.bounds, objective.attrs = bounds, {PHASE_ATTR: phase}
    return objective


def _finish(study: optuna.Study, objective, deadline: float | None, *, trials: int,
            least: int, cut: float | None) -> bool:
    """Run phase 1 until ``trials`` have ended (from ``cut`` on, ``least``) and none of it is
    running or queued; False when the deadline comes first."""
    with StaleTrialSweeper(study):  # a dead worker's trial is failed and re-queued, not awaited
        while True:
            past_cut = cut is not None and time.time() >= cut
            goal = least if past_cut else trials
            work(study, objective, trials=goal, deadline=deadline if cut is None or past_cut
                 else cut)
            busy = (TrialState.RUNNING, TrialState.WAITING)
            # a quicker worker that already narrowed is running phase-2 trials: stop waiting
            if NARROWING_ATTR in study.user_attrs:
                return True
            if not study.get_trials(deepcopy=False, states=busy):
                if finished_count(study) >= goal:
                    return True
                if cut is None or past_cut:  # work() gave up at the deadline
                    return False
                continue  # phase 1's time is up: go on until `least` have ended
            if deadline is not None and time.time() >= deadline:
                return False
            time.sleep(_POLL)
