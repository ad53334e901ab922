"""The worker loop: take trials until the study holds enough of them or time runs out."""

from __future__ import annotations

import time

import optuna

from honed.search.objective import CATCH, TrialObjective
from honed.search.study import finished_count
from honed.search.sweeper import StaleTrialSweeper

__all__ = ["work"]


def work(study: optuna.Study, objective: TrialObjective, *, trials: int,
         deadline: float | None = None, callbacks=()) -> int:
    """Run trials one at a time until ``trials`` are done or in flight; returns how many ran.

    Counting running and queued trials as in flight keeps several workers from overshooting;
    a trial re-queued after a dead worker is picked up first, because Optuna serves queued
    (WAITING) trials before sampling new ones.
    """
    ran = 0
    with StaleTrialSweeper(study):
        while finished_count(study, in_flight=True) < trials:
            if deadline is not None and time.time() >= deadline:
                break
            study.optimize(objective, n_trials=1, catch=CATCH, callbacks=list(callbacks),
                           gc_after_trial=False, show_progress_bar=False)
            ran += 1
        # trials of dead workers may still be waiting for a retry: help finish them
        while _waiting(study) and (deadline is None or time.time() < deadline):
            study.optimize(objective, n_trials=1, catch=CATCH, callbacks=list(callbacks))
            ran += 1
    return ran


def _waiting(study: optuna.Study) -> bool:
    return any(t.state == optuna.trial.TrialState.WAITING for t in study.get_trials(deepcopy=False))
