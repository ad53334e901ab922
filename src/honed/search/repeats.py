"""A trial at a point that a complete trial already trained is not trained again.

Samplers draw points they have evaluated already: NSGA-II's crossover and mutation, and its
random first generation, as well as TPE, on a space of a few choices and integers
(``bench/repeats.py``: a quarter to a third of 36 trials on a space of 48 points). Every trial
trains with the spec's ``seed``, so a trial at the same parameters trains the same spec with
the same seed again: the same model and the same values, for the time of a fit.

When a trial's parameters equal those of a COMPLETE trial of the study, the objective returns
that trial's values without training (:func:`earlier_trial`). The trial ends COMPLETE, so that
NSGA-II's population and TPE see the point with its values, as they would had it trained; it
counts toward ``search.trials`` like any trial that ended (a sampler that keeps drawing the
points of a small space would otherwise never let the study end); it writes no folder; and it
carries the user attribute ``honed.repeat_of`` (the number of the trial it repeats) with that
trial's ``dir`` and ``best_epoch``. :func:`distinct` leaves repeats out of the best trials, so
the Pareto front, ``best.json`` and the trial ``honed run`` refits name each point once, by
the trial that trained it.

- Only COMPLETE trials are reused: a pruned trial was stopped on what the study held then, and
  a failed one may have failed for its worker (a kill); both train again.
- Two workers that draw the same point while neither has finished both train it (the check
  reads the finished trials of the shared storage, on one host or many, as they were when the
  trial started: it shares the sampler's read, :func:`honed.search.study.trials_as_asked`);
  the later one is an ordinary trial, and :func:`distinct` still lists the point once.
- A ``seed`` that is a search dimension is a parameter: the same point with another seed is
  not a repeat.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from honed.search.study import trials_as_asked

__all__ = ["REPEAT_OF_ATTR", "earlier_trial", "repeat_attrs", "repeat_value", "distinct",
           "repeat_count", "describe_repeats"]

#: user attribute of a trial that reused the values of an earlier trial at the same point
REPEAT_OF_ATTR = "honed.repeat_of"


def earlier_trial(trial: optuna.Trial) -> FrozenTrial | None:
    """The trial that trained ``trial``'s point (all its parameters suggested), if one did.

    The earliest COMPLETE trial with the same parameters and finite values that trained itself.
    """
    params = trial.params
    for done in trials_as_asked(trial.study, states=(TrialState.COMPLETE,)):
        if (done.params == params and REPEAT_OF_ATTR not in done.user_attrs
                and done.values and all(math.isfinite(v) for v in done.values)):
            return done
    return None


def repeat_attrs(earlier: FrozenTrial) -> dict[str, Any]:
    """The user attributes of a trial that repeats ``earlier``: which one, its folder and epoch."""
    attrs: dict[str, Any] = {REPEAT_OF_ATTR: earlier.number}
    for key in ("dir", "best_epoch"):
        if key in earlier.user_attrs:
            attrs[key] = earlier.user_attrs[key]
    return attrs


def repeat_value(earlier: FrozenTrial) -> float | tuple[float, ...]:
    """What the objective returns for a repeat of ``earlier``: its values."""
    return earlier.values[0] if len(earlier.values) == 1 else tuple(earlier.values)


def distinct(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """``trials`` without repeats: each point once, by the earliest trial that trained it."""
    seen: set[tuple] = set()
    out = []
    for trial in sorted(trials, key=lambda t: t.number):
        point = tuple(sorted(trial.params.items()))  # Optuna's values are hashable
        if REPEAT_OF_ATTR in trial.user_attrs or point in seen:
            continue
        seen.add(point)
        out.append(trial)
    return out


def repeat_count(trials: Sequence[FrozenTrial]) -> int:
    """Trials that reused an earlier trial's values instead of training."""
    return sum(1 for t in trials if REPEAT_OF_ATTR in t.user_attrs)


def describe_repeats(trials: Sequence[FrozenTrial]) -> str | None:
    """One line when some trials repeated an earlier point; None when none did."""
    count = repeat_count(trials)
    if not count:
        return None
    return (f"{count} trial{'s' if count > 1 else ''} drew a point already trained and reused "
            f"its values (see honed.repeat_of in trials.csv)")
