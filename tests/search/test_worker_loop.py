"""The worker loop's stopping rule, with the sweeper's two steps pulled apart in time."""

from __future__ import annotations

import threading

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from honed.search.storage import open_storage, sqlite_url
from honed.search.worker import work


def test_a_failed_trial_whose_retry_is_not_queued_yet_does_not_end_the_study(tmp_path):
    # A sweeper marks a dead worker's trial FAIL, and only then queues its retry. A worker
    # that looked in between saw three ended trials and left with the retry still to run.
    study = optuna.create_study(storage=open_storage(sqlite_url(tmp_path)), study_name="w")
    for value in (1.0, 2.0):
        study.add_trial(optuna.trial.create_trial(value=value))
    dead = study._storage.create_new_trial(study._study_id)  # (ask() warns about heartbeats)
    study._storage.set_trial_state_values(dead, state=TrialState.FAIL)

    def queue_retry():
        RetryHeartbeatStaleTrialCallback(max_retry=1)(study, study.trials[2])

    late = threading.Timer(0.3, queue_retry)
    late.start()
    try:
        ran = work(study, lambda trial: 3.0, trials=3)
    finally:
        late.join()
    assert ran == 1
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2 + [
        TrialState.FAIL, TrialState.COMPLETE]
