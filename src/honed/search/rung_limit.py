"""Successive halving that stops judging after its last rung (``search.pruner.max_rungs``).

Optuna's ``SuccessiveHalvingPruner`` keeps adding rungs while a trial reports steps, so with
``reduction_factor`` 3 and 20 epochs a trial must pass rungs at epochs 2, 4 and 10 and only
one in 27 runs to the end. Capping the rungs keeps the cheap early cuts and lets every trial
that passed them finish.
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial

__all__ = ["RungLimit"]


class RungLimit(optuna.pruners.BasePruner):
    """Ask ``pruner`` only up to ``last_step`` (0-based: the step before the first rung that
    is no longer judged, so a rung reached late because a step was skipped still counts)."""

    def __init__(self, pruner: optuna.pruners.BasePruner, *, last_step: int):
        self.pruner = pruner
        self.last_step = last_step

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or step > self.last_step:
            return False
        return self.pruner.prune(study, trial)
