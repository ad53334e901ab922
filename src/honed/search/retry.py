"""Queueing a trial again when it did not end by itself: its worker was killed or interrupted.

A worker killed mid-trial (SIGKILL, the out-of-memory killer, a lost machine) may have been
killed *by its parameters*, so they are queued again at most ``MAX_KILLS`` time(s): a point that
kills every worker must not loop forever. An interruption (Ctrl-C, the SIGTERM of a coordinator
or a scheduler) is not the point's fault: it queues the point again without spending that retry.

The chain of tries is kept as Optuna's ``RetryHeartbeatStaleTrialCallback`` keeps it (system
attributes ``failed_trial`` and ``retry_history``), so Optuna's helpers and
:func:`honed.search.study.counted_trials` read it as before; honed adds
``honed.interrupted_trials`` (the numbers in the chain that were interrupted, not killed). An
interrupted trial also carries the user attribute ``honed.interrupted``. Parameters given up
after too many kills are named in the study user attribute ``honed.dropped.<number>``, so that a
study can say why a point (the default point above all) was never evaluated.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

__all__ = ["RetryKilledTrial", "requeue_interrupted", "dropped_trials", "MAX_KILLS",
           "INTERRUPTED_ATTR", "INTERRUPTED_TRIALS"]

#: times the parameters of a trial whose worker died are tried again
MAX_KILLS = 1
#: user attribute of a trial ended by an interruption (it was queued again)
INTERRUPTED_ATTR = "honed.interrupted"
#: system attribute of a retry: the trials of its chain that were interrupted, not killed
INTERRUPTED_TRIALS = "honed.interrupted_trials"
#: user attribute giving why a trial failed (a non-finite loss, an impossible point, ...)
FAIL_REASON_ATTR = "honed.fail_reason"
_DROPPED = "honed.dropped."
# what one try records about itself, not about its parameters: a retry starts without them
_OWN_ATTRS = (INTERRUPTED_ATTR, FAIL_REASON_ATTR)


class RetryKilledTrial:
    """The storage's callback for a trial whose worker stopped sending heartbeats.

    Args:
        max_kills: kills of the same parameters after which they are given up.
    """

    def __init__(self, max_kills: int = MAX_KILLS):
        self.max_kills = max_kills

    def __call__(self, study: optuna.Study, trial: FrozenTrial) -> None:
        history = [*trial.system_attrs.get("retry_history", []), trial.number]
        kills = len(set(history) - set(trial.system_attrs.get(INTERRUPTED_TRIALS, [])))
        if kills > self.max_kills:
            study.set_user_attr(f"{_DROPPED}{trial.number}",
                                f"its worker was killed {kills} times running these parameters")
            return
        _queue_again(study, trial, interrupted=False)


def requeue_interrupted(study: optuna.Study, trial: FrozenTrial) -> None:
    """Queue the parameters of an interrupted (FAIL) trial again; no retry is spent."""
    _queue_again(study, trial, interrupted=True)


def dropped_trials(study: optuna.Study) -> dict[int, str]:
    """Trials whose parameters were given up after kills, with why, by trial number."""
    return {int(key[len(_DROPPED):]): why for key, why in study.user_attrs.items()
            if key.startswith(_DROPPED)}


def _queue_again(study: optuna.Study, trial: FrozenTrial, *, interrupted: bool) -> None:
    system: dict[str, Any] = {"failed_trial": trial.number, **trial.system_attrs}
    system["retry_history"] = [*system.get("retry_history", []), trial.number]
    if interrupted:
        system[INTERRUPTED_TRIALS] = [*system.get(INTERRUPTED_TRIALS, []), trial.number]
    study.add_trial(optuna.trial.create_trial(
        state=TrialState.WAITING, params=trial.params, distributions=trial.distributions,
        user_attrs={k: v for k, v in trial.user_attrs.items() if k not in _OWN_ATTRS},
        system_attrs=system))
