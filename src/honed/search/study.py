"""Creating, joining and counting a study."""

from __future__ import annotations

import hashlib
import json

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from honed.errors import UserInputError
from honed.search.objectives import Objective
from honed.search.storage import open_storage

__all__ = ["create_or_load_study", "load_study", "finished_count", "fingerprint", "retried"]

_FINGERPRINT = "honed.fingerprint"


def fingerprint(raw: dict) -> str:
    """A short hash of the spec as written (dimensions included) that a study belongs to."""
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:16]


def create_or_load_study(url: str, name: str, objectives: list[Objective], *, sampler, pruner,
                         raw_spec: dict) -> optuna.Study:
    """Create the study, or continue it when the same spec made it; another spec is an error."""
    storage = open_storage(url)
    study = optuna.create_study(storage=storage, study_name=name, sampler=sampler, pruner=pruner,
                                directions=[o.direction for o in objectives], load_if_exists=True)
    mark = study.user_attrs.get(_FINGERPRINT)
    ours = fingerprint(raw_spec)
    if mark is None:
        study.set_user_attr(_FINGERPRINT, ours)
        study.set_user_attr("honed.objectives", [o.name for o in objectives])
    elif mark != ours:
        raise UserInputError(f"study {name!r} in this storage was made by another spec; use the "
                             "same spec to continue it, or another --out / spec name")
    return study


def load_study(url: str, name: str, *, sampler=None, pruner=None) -> optuna.Study:
    """Join an existing study (``honed worker``); a missing one is a one-line error."""
    storage = open_storage(url)
    try:
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        raise UserInputError(f"no study named {name!r} in this storage; start it with honed tune "
                             "first") from None


def retried(trial: FrozenTrial, trials: list[FrozenTrial]) -> bool:
    """True for a failed trial whose parameters were queued again after its worker died."""
    if trial.state != TrialState.FAIL:
        return False
    return any(RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == trial.number
               for t in trials if t.number > trial.number)


def finished_count(study: optuna.Study, *, in_flight: bool = False) -> int:
    """Trials that count toward ``search.trials``: ended ones (and running or queued ones).

    A trial failed because its worker died does not count: its retry does.
    """
    trials = study.get_trials(deepcopy=False)
    ended = {TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL}
    if in_flight:
        ended |= {TrialState.RUNNING, TrialState.WAITING}
    return sum(1 for t in trials if t.state in ended and not retried(t, trials))
