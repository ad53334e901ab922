"""The worker loop: take trials until the study holds enough of them or time runs out.

Every ``honed tune`` (in process) and every ``honed worker`` runs this loop on the shared
storage. A worker leaves only when the study is finished, not when the last trial has merely
started: a trial of a dead worker is re-queued by a sweeper a few seconds later, and somebody
must be there to run it.
"""

from __future__ import annotations

import logging
import random
import subprocess
import sys
import time
from collections.abc import Callable

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from honed.interrupts import raise_if_interrupted
from honed.search.objective import CATCH, TrialObjective
from honed.search.retry import FAIL_REASON_ATTR, INTERRUPTED_ATTR, requeue_interrupted
from honed.search.study import SURPLUS, counted_trials, is_queued, trials_as_asked
from honed.search.sweeper import StaleTrialSweeper
from honed.train.threads import usable_cores  # re-exported: the search's callers use it here

__all__ = ["work", "usable_cores", "stop_processes", "WAIT_SECONDS"]

#: how often a worker with nothing to run looks for re-queued trials (jittered, so that two
#: idle workers rarely reach for the same queued trial at once)
WAIT_SECONDS = 1.0


class _QuietFailures(logging.Filter):
    """Drops Optuna's warnings about trials that honed describes itself.

    A trial that failed for a known reason (:data:`CATCH`) is told in one line by the worker
    loop and ends as NaN; an interrupted one is queued again and told by the command. Optuna
    would add a warning each, with a traceback. A trial failing on any other error keeps
    Optuna's warning and its traceback: that is a bug to see.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.WARNING or not str(record.msg).startswith("Trial "):
            return True
        error = record.exc_info[1] if record.exc_info else None
        return " failed" not in str(record.msg) or not (
            error is None or isinstance(error, KeyboardInterrupt))


logging.getLogger("optuna.study._optimize").addFilter(_QuietFailures())


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class _Guarded:
    """The objective, refusing surplus trials and remembering the trial in progress."""

    def __init__(self, objective: TrialObjective, trials: int,
                 say: Callable[[str], None] = _say):
        self.objective, self.trials, self.say = objective, trials, say
        self.current: int | None = None  # storage id of the trial in progress

    def __call__(self, trial: optuna.Trial):
        self.current = trial._trial_id
        if _surplus(trial, self.trials):
            trial.set_user_attr(SURPLUS, True)
            return _nan(trial)  # Optuna ends it FAIL
        try:
            return self.objective(trial)
        except KeyboardInterrupt:
            # marked while still RUNNING: Optuna ends it FAIL, which shows no why
            trial.set_user_attr(INTERRUPTED_ATTR, True)
            raise
        except CATCH as exc:
            why = str(exc)
            trial.set_user_attr(FAIL_REASON_ATTR, why)
            # the first clause: what happened (the rest, advice, is in the user attribute)
            self.say(f"trial {trial.number} failed: {why.split('; ')[0]}")
            return _nan(trial)


def _nan(trial: optuna.Trial) -> float | tuple[float, ...]:
    """What makes Optuna end a trial FAIL without an exception (and so without a traceback)."""
    nan, count = float("nan"), len(trial.study.directions)
    return nan if count == 1 else (nan,) * count


def work(study: optuna.Study, objective: TrialObjective, *, trials: int,
         deadline: float | None = None, callbacks=()) -> int:
    """Run trials one at a time until ``trials`` count and none is left; returns how many ran.

    Running and queued trials count as in flight, which keeps several workers from
    overshooting; when all are in flight the worker waits for the others, running any trial
    re-queued after a dead worker (Optuna serves queued trials before sampling new ones). An
    interrupted trial (Ctrl-C, SIGTERM) is queued again before ``KeyboardInterrupt`` goes on, so
    the same command continues the study without losing it.
    """
    ran = 0
    guarded = _Guarded(objective, trials)
    looked_done = False
    with StaleTrialSweeper(study):
        try:
            while deadline is None or time.time() < deadline:
                raise_if_interrupted()
                every = study.get_trials(deepcopy=False)
                waiting = any(t.state == TrialState.WAITING for t in every)
                counted = counted_trials(every)
                done = not waiting and len(counted) >= trials
                if done and not looked_done and any(t.state == TrialState.FAIL for t in counted):
                    # a sweeper fails a dead worker's trial and only then queues its retry:
                    # between the two the failed trial looks counted, so look once more
                    looked_done = True
                    time.sleep(WAIT_SECONDS)
                    continue
                looked_done = False
                if waiting or len(counted_trials(every, in_flight=True)) < trials:
                    try:
                        study.optimize(guarded, n_trials=1, catch=CATCH,
                                       callbacks=list(callbacks), gc_after_trial=False,
                                       show_progress_bar=False)
                    except Exception:
                        # this worker looked dead (its heartbeats held up for longer than the
                        # grace period), so its trial was failed and queued again: go on
                        if not _taken_over(study, guarded.current):
                            raise
                    guarded.current = None  # ended: an interruption from here on is not its
                    ran += 1
                elif len(counted) < trials:
                    time.sleep(WAIT_SECONDS * random.uniform(0.5, 1.5))
                else:
                    break
        except KeyboardInterrupt:
            _requeue(study, guarded.current)
            raise
    return ran


def _surplus(trial: optuna.Trial, limit: int) -> bool:
    """True when ``limit`` counted trials were already ahead of this freshly sampled one.

    Queued trials (retries) are always ahead; fresh ones are ordered by number, so of two
    workers that raced for the last slot exactly the later trial steps back.
    """
    every = trials_as_asked(trial.study)  # the sampler then reuses this read
    me = next((t for t in every if t._trial_id == trial._trial_id), None)
    if me is None or is_queued(me):
        return False
    ahead = [t for t in counted_trials(every, in_flight=True)
             if t._trial_id != trial._trial_id and (t.number < trial.number or is_queued(t))]
    return len(ahead) >= limit


def _taken_over(study: optuna.Study, trial_id: int | None) -> bool:
    """True when a sweeper failed this worker's trial and queued its parameters again."""
    if trial_id is None:
        return False
    trial = study._storage.get_trial(trial_id)
    every = study.get_trials(deepcopy=False)
    return trial.state == TrialState.FAIL and any(
        trial.number in RetryHeartbeatStaleTrialCallback.retry_history(t) for t in every)


def _requeue(study: optuna.Study, trial_id: int | None) -> None:
    """Queue the parameters of an interrupted trial again, so that it does not count.

    An interruption is not the trial's fault: no retry is spent (see :mod:`honed.search.retry`).
    """
    if trial_id is None:
        return
    storage = study._storage
    try:
        frozen = storage.get_trial(trial_id)
        if frozen.user_attrs.get(SURPLUS):
            return
        if frozen.state == TrialState.RUNNING:  # interrupted inside Optuna, before its tell
            storage.set_trial_user_attr(trial_id, INTERRUPTED_ATTR, True)
            storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
            frozen = storage.get_trial(trial_id)
        if frozen.state == TrialState.FAIL:
            requeue_interrupted(study, frozen)
    except Exception:  # a second Ctrl-C or a lost database: the sweeper covers RUNNING ones
        pass


def stop_processes(procs: list[subprocess.Popen], timeout: float = 30.0) -> None:
    """SIGTERM every live worker, give them time to queue their trials again, then kill."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    end = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
