"""The one bridge from training to search: a callback that reports and prunes.

Single objective: Optuna's own words, ``trial.report`` / ``trial.should_prune``. Several
objectives: Optuna refuses ``report`` there, so each step's vector goes into a user attribute
and the study's pruner (honed's multi-objective successive halving) is asked directly.

The reports are also how a progress display, in another process, sees a running trial's epoch:
:func:`reported_steps` reads them from the storage, beside the trial's :data:`STEPS_ATTR`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from honed.search.objectives import Objective
from honed.train.callbacks.base import Callback

__all__ = ["TrialReporter", "should_prune", "reported_steps", "last_report", "planned_steps",
           "STEPS_ATTR"]

#: trial user attribute: the steps it runs at most, ``{"unit": "epoch", "total": 20}`` (folds
#: with ``search.cv``); set once when the trial starts, so a display can show "epoch 4/20"
STEPS_ATTR = "honed.steps"


def planned_steps(objectives: list[Objective], unit: str, total: int) -> dict[str, Any]:
    """``{STEPS_ATTR: {"unit": unit, "total": total}}`` when the trial reports steps, else {}.

    A trial reports (and so has steps to show) when one of its objectives is a metric.

    Example:
        >>> planned_steps([Objective("val.accuracy", "maximize")], "epoch", 20)
        {'honed.steps': {'unit': 'epoch', 'total': 20}}
    """
    if not any(o.metric is not None for o in objectives):
        return {}
    return {STEPS_ATTR: {"unit": unit, "total": int(total)}}


def last_report(trial: FrozenTrial) -> tuple[int, float] | None:
    """The last step ``trial`` reported (0-based) and its first objective's value there."""
    if trial.intermediate_values:
        step = max(trial.intermediate_values)
        return step, trial.intermediate_values[step]
    from honed.search.mo_pruner import intermediate_vectors

    vectors = intermediate_vectors(trial)
    if not vectors:
        return None
    step = max(vectors)
    return step, vectors[step][0]


def reported_steps(trial: FrozenTrial) -> int:
    """How many steps (epochs, or folds) ``trial`` has reported so far: its last step + 1."""
    last = last_report(trial)
    return 0 if last is None else last[0] + 1


def should_prune(trial: optuna.Trial, step: int, values: list[float]) -> bool:
    """Report ``values`` at ``step`` and ask the study's pruner."""
    if len(values) == 1:
        trial.report(values[0], step)
        return trial.should_prune()
    import math

    from honed.search.mo_pruner import report_vector

    # a diverging metric is reported as NaN, which the pruner ranks last (it refuses inf)
    report_vector(trial, step, [v if math.isfinite(v) else float("nan") for v in values])
    frozen = trial.study._storage.get_trial(trial._trial_id)
    return trial.study.pruner.prune(trial.study, frozen)


class TrialReporter(Callback):
    """Report the objectives after every validation; stop the fit when the pruner says so.

    The decision is taken after validation and acted on at the end of the same epoch, after
    the history logger wrote it, so a pruned trial's history shows the epoch that pruned it.

    Args:
        trial: the running trial.
        objectives: the study's objectives, in order.
        measures: values of the objectives that describe the model, not an epoch (params,
            latency_ms, size_mb), computed once when the fit starts.
    """

    order = 90  # after history logging, before checkpointing

    def __init__(self, trial: optuna.Trial, objectives: list[Objective],
                 measures: Callable[[Any], dict[str, float]] | None = None):
        self.trial = trial
        self.objectives = objectives
        self.measures = measures
        self._fixed: dict[str, float] = {}
        self.enabled = any(o.metric is not None for o in objectives)
        self._prune_at: int | None = None

    def on_fit_start(self, trainer) -> None:
        # the objective sets it with the trial's other attributes when it starts; a commit
        # here only when it did not (a reporter used on its own) or planned otherwise
        steps = planned_steps(self.objectives, "epoch", trainer.config.epochs)
        if steps and self.trial.user_attrs.get(STEPS_ATTR) != steps[STEPS_ATTR]:
            self.trial.set_user_attr(STEPS_ATTR, steps[STEPS_ATTR])
        if self.measures is not None:
            self._fixed = self.measures(trainer.model)

    def on_validation_end(self, trainer, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        values = [record["val"][o.metric] if o.metric else self._fixed[o.name]
                  for o in self.objectives]
        if should_prune(self.trial, record["epoch"] - 1, [float(v) for v in values]):
            self._prune_at = record["epoch"]

    def on_epoch_end(self, trainer, record: dict[str, Any]) -> None:
        if self._prune_at is not None:
            raise optuna.TrialPruned(f"pruned after epoch {self._prune_at}")
