"""The k-fold cross-validated objective (``search.cv: k``).

A trial trains one model per fold (:func:`honed.data.prepare_folds`: k folds over train + val,
each with its own fitted preprocessing) and its value is the mean over the folds of each
validation objective at the fold's best epoch. After fold ``i`` the running mean is reported at
step ``i``, so the study's pruner compares trials fold by fold and a weak trial stops after its
first folds; epochs inside a fold are not reported, because epoch ``e`` of fold 2 and epoch ``e``
of fold 0 are not the same step.

Model measures (``params``, ``latency_ms``, ``size_mb``) are those of the last fold's model
(every fold builds the same architecture), and the trial's saved ``model/`` is the last fold's
model at its best epoch: a cross-validated trial yields no single model trained on all the data,
that is the refit's job. ``metrics.json`` holds the means under ``val``, and each fold's values,
best epoch and epochs run under ``folds``; each fold's history is ``foldI/history.jsonl``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna

from honed.search.reporting import should_prune
from honed.spec.schema import Spec

if TYPE_CHECKING:
    from honed.search.objective import FitOutcome, TrialObjective

__all__ = ["cross_validate", "fold_means", "FOLDS_ATTR"]

#: trial user attr: the objective values of every fold run so far, in fold order
FOLDS_ATTR = "honed.cv.folds"


def fold_means(records: list[dict[str, float]]) -> dict[str, float]:
    """The mean of every numeric value that all ``records`` hold (a confusion matrix is skipped).

    Example:
        >>> fold_means([{"accuracy": 0.5, "loss": 1.0}, {"accuracy": 1.0, "loss": 0.5}])
        {'accuracy': 0.75, 'loss': 0.75}
    """
    if not records:
        return {}
    names = [name for name, value in records[0].items()
             if all(isinstance(r.get(name), (int, float)) and not isinstance(r.get(name), bool)
                    for r in records)]
    return {name: math.fsum(float(r[name]) for r in records) / len(records) for name in names}


def cross_validate(objective: TrialObjective, trial: optuna.Trial, spec: Spec,
                   folder: Path) -> float | tuple[float, ...]:
    """Run the k folds of ``trial``, reporting the running mean after each; return the mean.

    Raises:
        optuna.TrialPruned: the pruner stopped the trial after a fold.
        TrialFailed: a fold gave no usable value (the whole trial fails).
    """
    k = int(objective.cv)
    folds = objective.folds(spec, k)
    report = any(o.metric is not None for o in objective.objectives)
    # the objective set the trial's STEPS_ATTR ({"unit": "fold", "total": k}) when it started
    outcomes: list[FitOutcome] = []
    for index, data in enumerate(folds):
        # each fold fits alone: the pruner sees folds, never epochs (see the module docstring)
        outcome = objective.fit_once(spec, data, folder / f"fold{index}" / "history.jsonl", [],
                                     fold=index)
        outcomes.append(outcome)
        trial.set_user_attr(FOLDS_ATTR, [o.values for o in outcomes])
        values = _combine(objective, outcomes)
        # the last fold is reported too (every complete trial has steps 0..k-1) but never
        # pruned: the trial has done all its work by then
        if report and should_prune(trial, index, values) and index < k - 1:
            raise optuna.TrialPruned(f"pruned after fold {index + 1} of {k}")
    last = outcomes[-1]
    objective.save(last, spec, folds[-1], folder, {
        "val": fold_means([o.record["val"] for o in outcomes]),
        "cv": k,
        "folds": [_describe(o) for o in outcomes],
    })
    trial.set_user_attr("best_epoch", last.best_epoch)
    return values[0] if len(values) == 1 else tuple(values)


def _combine(objective: TrialObjective, outcomes: list[FitOutcome]) -> list[float]:
    # metrics: mean over the folds so far; model measures: the latest fold's model
    combined = []
    for index, wanted in enumerate(objective.objectives):
        if wanted.metric is None:
            combined.append(outcomes[-1].values[index])
        else:
            combined.append(math.fsum(o.values[index] for o in outcomes) / len(outcomes))
    return combined


def _describe(outcome: FitOutcome) -> dict[str, Any]:
    return {"val": outcome.record["val"], "best_epoch": outcome.best_epoch,
            "epochs_run": outcome.epochs_run}
