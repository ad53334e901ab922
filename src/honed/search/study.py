"""Creating, joining and counting a study.

Which trials count toward ``search.trials``: every ended trial (complete, pruned, failed) and,
while workers run, every running or queued one, except

- a trial whose worker died or was interrupted and whose parameters were queued again: its
  retry counts instead (Optuna's ``RetryHeartbeatStaleTrialCallback`` keeps the chain in
  ``retry_history``);
- a *surplus* trial: two workers that both saw one trial missing both started one; the later
  one ends at once as failed with the user attribute ``honed.surplus`` (see
  :mod:`honed.search.worker`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from honed.errors import UserInputError
from honed.search.objectives import Objective
from honed.search.storage import open_storage

__all__ = ["create_or_load_study", "load_study", "finished_count", "counted_trials",
           "fingerprint", "retried", "is_queued", "wait_for_study", "trials_as_asked", "SURPLUS",
           "TARGET"]

_FINGERPRINT = "honed.fingerprint"
#: user attribute of a trial started when the study already held enough trials
SURPLUS = "honed.surplus"
#: study user attribute: the number of trials ``honed tune`` was asked for (workers follow it)
TARGET = "honed.trials"

_ENDED = frozenset({TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL})
_IN_FLIGHT = frozenset({TrialState.RUNNING, TrialState.WAITING})


# search settings that change how long or where a study runs, not what a trial computes
_RUN_SETTINGS = ("trials", "timeout", "workers", "gpus_per_trial", "storage", "refit")


def fingerprint(raw: dict) -> str:
    """A short hash of the spec as written (dimensions included) that a study belongs to.

    ``search.trials``, ``timeout``, ``workers``, ``gpus_per_trial``, ``storage`` and ``refit``
    are left out (where and how long a study runs, not what a trial computes), so a
    study can be extended (``search.trials=40``) or refitted another way without a new study.
    """
    content = dict(raw)
    if isinstance(content.get("search"), dict):
        content["search"] = {k: v for k, v in content["search"].items()
                             if k not in _RUN_SETTINGS}
    text = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def create_or_load_study(url: str, name: str, objectives: list[Objective], *, sampler, pruner,
                         raw_spec: dict) -> optuna.Study:
    """Create the study, or continue it when the same spec made it; another spec is an error."""
    storage = open_storage(url, writer=True)
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
    _check_objectives(study, objectives)
    return study


def _check_objectives(study: optuna.Study, objectives: list[Objective]) -> None:
    """Refuse to continue a study for other objectives than it was made for.

    The same spec can mean another objective: without ``search.objectives`` it follows
    ``train.monitor``, where earlier versions of honed always took ``val.loss:min``.
    """
    made = [f"{n}:{'min' if d == optuna.study.StudyDirection.MINIMIZE else 'max'}" for n, d in
            zip(study.user_attrs.get("honed.objectives", []), study.directions, strict=False)]
    wanted = [f"{o.name}:{o.mode}" for o in objectives]
    if made and made != wanted:
        raise UserInputError(f"study {study.study_name!r} optimizes {', '.join(made)}, not "
                             f"{', '.join(wanted)}; set search.objectives=[{','.join(made)}] to "
                             "continue it, or use another --out")


def load_study(url: str, name: str, *, sampler=None, pruner=None,
               raw_spec: dict | None = None) -> optuna.Study:
    """Join an existing study (``honed worker``); a missing one, or another spec's, is an error."""
    storage = open_storage(url, writer=True)
    try:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler,
                                  pruner=pruner)
    except KeyError:
        raise UserInputError(f"no study named {name!r} in this storage; start it with honed tune "
                             "first") from None
    mark = study.user_attrs.get(_FINGERPRINT)
    if raw_spec is not None and mark is not None and mark != fingerprint(raw_spec):
        raise UserInputError(f"study {name!r} in this storage was made by another spec; a worker "
                             "must be given the spec (and overrides) that honed tune was given")
    return study


def wait_for_study(url: str, name: str, seconds: float, *, poll: float = 1.0) -> bool:
    """Wait up to ``seconds`` for honed tune to make study ``name``; True once it is ready.

    Ready means its trial target is set, the last thing honed tune writes before trials
    start: a worker that joined earlier would miss it. Array jobs (Slurm, Kubernetes) start
    honed tune and its workers at once, so the workers wait for it.
    """
    storage = open_storage(url)
    end = time.monotonic() + seconds
    while True:
        try:
            if TARGET in optuna.load_study(study_name=name, storage=storage).user_attrs:
                return True
        except KeyError:  # not made yet
            pass
        if time.monotonic() >= end:
            return False
        time.sleep(poll)


def _retried_numbers(trials: Sequence[FrozenTrial]) -> set[int]:
    """Numbers of trials whose parameters were queued again (every link of a retry chain)."""
    out: set[int] = set()
    for trial in trials:
        out.update(RetryHeartbeatStaleTrialCallback.retry_history(trial))
    return out


def retried(trial: FrozenTrial, trials: list[FrozenTrial]) -> bool:
    """True for a trial that does not count: retried after its worker died, or surplus."""
    if trial.state != TrialState.FAIL:
        return False
    return trial.user_attrs.get(SURPLUS, False) or trial.number in _retried_numbers(trials)


def is_queued(trial: FrozenTrial) -> bool:
    """A retry or an enqueued trial: it was asked for, so it is never surplus."""
    return (RetryHeartbeatStaleTrialCallback.retried_trial_number(trial) is not None
            or "fixed_params" in trial.system_attrs)


def counted_trials(trials: Sequence[FrozenTrial], *, in_flight: bool = False
                   ) -> list[FrozenTrial]:
    """The trials that count toward ``search.trials`` (see the module docstring)."""
    states = _ENDED | _IN_FLIGHT if in_flight else _ENDED
    again = _retried_numbers(trials)
    return [t for t in trials if t.state in states and not (
        t.state == TrialState.FAIL and (t.number in again or t.user_attrs.get(SURPLUS, False)))]


def trials_as_asked(study: optuna.Study, states: Sequence[TrialState] | None = None
                    ) -> list[FrozenTrial]:
    """The study's trials as read once for the trial now running: the sampler's own read.

    Optuna reads a study's trials once per trial for its sampler and keeps the list until the
    next ``ask`` or ``tell`` (``Study._get_trials(use_cache=True)``, private: Optuna 5.1). The
    checks honed makes when a trial starts (surplus, repeat) share that read instead of making
    two more, each a round of queries (``bench/trial_overhead.py``). The first call after an
    ``ask`` makes the read, so the list holds the running trial and every trial created before
    it. Not to be changed: it is the sampler's list.
    """
    return study._get_trials(deepcopy=False, states=states, use_cache=True)


def finished_count(study: optuna.Study, *, in_flight: bool = False) -> int:
    """Trials that count toward ``search.trials``: ended ones (and running or queued ones).

    A trial failed because its worker died does not count: its retry does.
    """
    return len(counted_trials(study.get_trials(deepcopy=False), in_flight=in_flight))
