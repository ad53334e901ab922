"""honed's stale-trial sweeper: Optuna only looks for dead workers when a new trial starts.

A background thread calls ``optuna.storages.fail_stale_trials`` every few seconds, so the trial
of a worker killed with SIGKILL is marked failed (and re-queued by the retry callback) within
``HEARTBEAT + GRACE + SWEEP`` seconds even if no other trial is starting.

Optuna never finds a trial whose worker died before its first heartbeat (between ``ask`` and
the heartbeat thread's start): such a trial has no heartbeat row and would stay RUNNING forever,
and every worker waiting for the study to finish would wait with it. The sweeper fails those too
once it has seen them without a heartbeat for ``GRACE`` seconds of its own clock (workers on
other machines may not share it).
"""

from __future__ import annotations

import copy
import threading
import time

import optuna
from optuna.trial import TrialState

from honed.search.storage import GRACE_SECONDS

__all__ = ["StaleTrialSweeper", "SWEEP_SECONDS"]

SWEEP_SECONDS = 2.0


class StaleTrialSweeper:
    """Context manager running the sweep in a daemon thread.

    Args:
        study: the study to sweep; its storage must have heartbeats on.
        interval: seconds between sweeps.
        grace: seconds a running trial may go without any heartbeat row.
    """

    def __init__(self, study: optuna.Study, interval: float = SWEEP_SECONDS,
                 grace: float = GRACE_SECONDS):
        self.study = study
        self.interval = interval
        self.grace = grace
        self._silent: dict[int, float] = {}  # trial id → when first seen without a heartbeat
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="honed-sweeper", daemon=True)

    def __enter__(self) -> StaleTrialSweeper:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def sweep(self) -> None:
        """Fail (and so re-queue once) every trial whose worker is gone."""
        optuna.storages.fail_stale_trials(self.study)
        self._fail_silent()

    def _fail_silent(self) -> None:
        storage = self.study._storage
        running = [t._trial_id for t in self.study.get_trials(deepcopy=False,
                                                              states=(TrialState.RUNNING,))]
        silent = _without_heartbeat(storage, running)
        now = time.monotonic()
        self._silent = {i: self._silent.get(i, now) for i in silent}
        callback = storage.get_heartbeat_stale_trial_callback()
        for trial_id, since in list(self._silent.items()):
            if now - since <= self.grace:
                continue
            del self._silent[trial_id]
            try:
                if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                    continue
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # its worker finished it after all, or another sweeper failed it
            if callback is not None:
                callback(self.study, copy.deepcopy(storage.get_trial(trial_id)))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sweep()
            except Exception:  # a locked database now and then must not kill the sweeper
                pass


def _without_heartbeat(storage, trial_ids: list[int]) -> set[int]:
    """The trials among ``trial_ids`` that never recorded a heartbeat (RDB storage only)."""
    storage = getattr(storage, "_backend", storage)  # a study wraps it in a cache
    if not trial_ids or not hasattr(storage, "scoped_session"):
        return set()
    try:  # Optuna's table models: not public API, so a change there only disables this check
        from optuna.storages._rdb.models import TrialHeartbeatModel
        from optuna.storages._rdb.storage import _create_scoped_session
    except ImportError:
        return set()
    with _create_scoped_session(storage.scoped_session) as session:
        beating = {row[0] for row in session.query(TrialHeartbeatModel.trial_id).filter(
            TrialHeartbeatModel.trial_id.in_(trial_ids))}
    return set(trial_ids) - beating
