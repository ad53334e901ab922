"""The one bridge from training to search: a callback that reports and prunes.

Single objective: Optuna's own words, ``trial.report`` / ``trial.should_prune``. Several
objectives: Optuna refuses ``report`` there, so each step's vector goes into a user attribute
and the study's pruner (honed's multi-objective successive halving) is asked directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import optuna

from honed.search.objectives import Objective
from honed.train.callbacks.base import Callback

__all__ = ["TrialReporter", "prune_or_continue"]


def prune_or_continue(trial: optuna.Trial, step: int, values: list[float], message: str) -> None:
    """Report ``values`` at ``step`` and raise ``optuna.TrialPruned`` if the pruner says so."""
    if len(values) == 1:
        trial.report(values[0], step)
        if trial.should_prune():
            raise optuna.TrialPruned(message)
        return
    import math

    from honed.search.mo_pruner import report_vector

    # a diverging metric is reported as NaN, which the pruner ranks last (it refuses inf)
    report_vector(trial, step, [v if math.isfinite(v) else float("nan") for v in values])
    frozen = trial.study._storage.get_trial(trial._trial_id)
    if trial.study.pruner.prune(trial.study, frozen):
        raise optuna.TrialPruned(message)


class TrialReporter(Callback):
    """Report the objectives after every validation; stop the fit when the pruner says so.

    Args:
        trial: the running trial.
        objectives: the study's objectives, in order.
        measures: values of the objectives that describe the model, not an epoch (params,
            latency_ms, size_mb), computed once when the fit starts.
    """

    def __init__(self, trial: optuna.Trial, objectives: list[Objective],
                 measures: Callable[[Any], dict[str, float]] | None = None):
        self.trial = trial
        self.objectives = objectives
        self.measures = measures
        self._fixed: dict[str, float] = {}
        self.enabled = any(o.metric is not None for o in objectives)

    def on_fit_start(self, trainer) -> None:
        if self.measures is not None:
            self._fixed = self.measures(trainer.model)

    def on_validation_end(self, trainer, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        values = [record["val"][o.metric] if o.metric else self._fixed[o.name]
                  for o in self.objectives]
        prune_or_continue(self.trial, record["epoch"] - 1, [float(v) for v in values],
                          f"pruned after epoch {record['epoch']}")
