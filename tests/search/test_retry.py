"""An interrupted trial is queued again without spending the retry that a killed one gets."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from honed.search.default_first import (
    DEFAULT_POINT_ATTR,
    default_point_status,
    describe_default_point,
)
from honed.search.retry import INTERRUPTED_ATTR, dropped_trials
from honed.search.storage import open_storage, sqlite_url
from honed.search.study import counted_trials
from honed.search.worker import work


def _study(tmp_path) -> optuna.Study:
    study = optuna.create_study(storage=open_storage(sqlite_url(tmp_path), writer=True),
                                study_name="r")
    study.enqueue_trial({"x": 0.5}, user_attrs={DEFAULT_POINT_ATTR: True})
    study.set_user_attr("honed.default_queued", True)
    return study


def _kill(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """What the sweeper does to the trial of a worker killed while running it."""
    storage = study._storage
    storage.set_trial_state_values(trial._trial_id, state=TrialState.RUNNING)
    storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    storage.get_heartbeat_stale_trial_callback()(study, storage.get_trial(trial._trial_id))


def _interrupted_once(tmp_path) -> optuna.Study:
    study = _study(tmp_path)

    def objective(trial):
        trial.suggest_float("x", 0.0, 1.0)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        work(study, objective, trials=1)
    return study


def test_ctrl_c_queues_the_trial_again_and_marks_it_interrupted(tmp_path):
    study = _interrupted_once(tmp_path)
    first, again = study.trials
    assert first.state == TrialState.FAIL and first.user_attrs[INTERRUPTED_ATTR] is True
    assert again.state == TrialState.WAITING and again.params == {"x": 0.5}
    # the retry is the default point too, but not an interrupted trial itself
    assert again.user_attrs[DEFAULT_POINT_ATTR] is True
    assert INTERRUPTED_ATTR not in again.user_attrs
    assert counted_trials(study.trials, in_flight=True) == [again]


def test_a_kill_after_a_ctrl_c_still_gets_its_retry(tmp_path):
    study = _interrupted_once(tmp_path)
    _kill(study, study.trials[1])
    retry = study.trials[-1]
    assert len(study.trials) == 3 and retry.state == TrialState.WAITING
    assert retry.params == {"x": 0.5} and retry.user_attrs[DEFAULT_POINT_ATTR] is True
    assert dropped_trials(study) == {}


def test_parameters_killed_twice_are_dropped_and_the_study_says_why(tmp_path):
    study = _interrupted_once(tmp_path)
    _kill(study, study.trials[1])
    _kill(study, study.trials[2])
    assert [t.state for t in study.trials] == [TrialState.FAIL] * 3  # no fourth try
    assert dropped_trials(study) == {2: "its worker was killed 2 times running these "
                                        "parameters"}
    status = default_point_status(study)
    assert status["state"] == "DROPPED" and status["trial"] == 2
    assert "killed 2 times" in status["why"]
    assert describe_default_point(status) == (
        "the default point (trial 2) was not evaluated: its worker was killed 2 times running "
        "these parameters; honed train trains it alone")


def test_the_default_point_status_follows_its_retries_to_the_end(tmp_path):
    study = _interrupted_once(tmp_path)
    assert default_point_status(study) == {"trial": 1, "state": "WAITING"}
    work(study, lambda trial: trial.suggest_float("x", 0.0, 1.0), trials=1)
    assert default_point_status(study) == {"trial": 1, "state": "COMPLETE"}
    assert describe_default_point(default_point_status(study)) is None
