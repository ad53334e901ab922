"""A trial's start attributes in one storage commit: every key lands, fewer commits per trial.

Real SQLite studies (and PostgreSQL where the fixture has one), real trials, commits counted
with a SQLAlchemy event on the storage's own engine.
"""

from __future__ import annotations

import optuna
import pytest
import sqlalchemy
from optuna.trial import TrialState

from honed.search.objective import TrialObjective
from honed.search.objectives import parse_objectives
from honed.search.repeats import REPEAT_OF_ATTR
from honed.search.reporting import STEPS_ATTR
from honed.search.storage import open_storage, sqlite_url
from honed.search.trial_attrs import private_api_missing, set_trial_user_attrs
from honed.spec import spec_from_dict

pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")

ATTRS = {"dir": "/runs/x/trials/0000", "worker": "host:12", "host": "host", "device": "cpu",
         "gpus": None, "threads": 2, STEPS_ATTR: {"unit": "epoch", "total": 3}}

SPEC = {"name": "attrs", "data": {"source": "builtin:iris"},
        "model": {"family": "mlp", "hidden": {"int": [8, 16]}},
        "train": {"epochs": 1, "batch_size": 32,
                  "optimizer": {"name": "adamw", "lr": {"float": [0.01, 0.05]}}}}


class WriteCommits:
    """Commits on ``engine`` whose transaction wrote a row, and those that wrote a user attr."""

    def __init__(self, engine):
        self.writes = self.user_attrs = 0  # heartbeats commit from a thread: kept per connection
        self.attr_statements = 0  # statements that wrote user attributes
        sqlalchemy.event.listen(engine, "before_cursor_execute", self._execute)
        sqlalchemy.event.listen(engine, "commit", self._commit)

    def _execute(self, conn, cursor, statement, parameters, context, executemany):
        words = statement.split()
        if words[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.attr_statements += "trial_user_attributes" in words[1:3]
            conn.info.setdefault("wrote", set()).add(
                words[2].strip('"') if words[0].upper() == "INSERT" else words[1])

    def _commit(self, conn):
        wrote = conn.info.pop("wrote", set())
        self.writes += bool(wrote)
        self.user_attrs += "trial_user_attributes" in wrote


def sqlite_storage(tmp_path):
    return open_storage(sqlite_url(tmp_path), writer=True)


def test_optuna_still_has_the_private_names_the_one_commit_path_uses(tmp_path):
    # an Optuna that renamed them sets attributes one commit each again: correct but slower,
    # so this fails instead of letting every trial of every search slow down unnoticed
    assert private_api_missing() == (), (
        f"Optuna {optuna.__version__} lacks {private_api_missing()}: update "
        "honed/search/trial_attrs.py")
    study = optuna.create_study(storage=sqlite_storage(tmp_path))
    trial = study.ask()
    assert isinstance(study._storage._backend, optuna.storages.RDBStorage)
    assert isinstance(trial._trial_id, int)
    assert trial._cached_frozen_trial.number == trial.number


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_key_lands_in_one_commit(tmp_path, backend, request):
    url = (sqlite_url(tmp_path) if backend == "sqlite"
           else request.getfixturevalue("postgres_url"))
    storage = open_storage(url, writer=True)
    study = optuna.create_study(study_name="s", storage=storage)
    trial = study.ask()
    trial.set_user_attr("threads", 1)  # already there: overwritten, as set_user_attr does
    counted = WriteCommits(storage.engine)
    set_trial_user_attrs(trial, ATTRS)
    assert (counted.writes, counted.user_attrs) == (1, 1)
    assert counted.attr_statements == 1  # one upsert of all 7 keys, not one per key
    assert trial.user_attrs == ATTRS  # what the running trial sees
    again = optuna.load_study(study_name="s", storage=open_storage(url))
    assert again.trials[0].user_attrs == ATTRS  # what another process reads


def test_a_finished_trial_refuses_and_nothing_is_written(tmp_path):
    storage = sqlite_storage(tmp_path)
    study = optuna.create_study(study_name="s", storage=storage)
    trial = study.ask()
    study.tell(trial, 1.0)
    with pytest.raises(RuntimeError, match="finished"):
        set_trial_user_attrs(trial, ATTRS)
    assert optuna.load_study(study_name="s", storage=storage).trials[0].user_attrs == {}


@pytest.mark.parametrize("make", [
    lambda tmp_path: optuna.storages.InMemoryStorage(),
    lambda tmp_path: optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(tmp_path / "journal.log"))),
], ids=["memory", "journal"])
def test_other_storages_get_every_key_one_by_one(tmp_path, make):
    study = optuna.create_study(storage=make(tmp_path))
    trial = study.ask()
    set_trial_user_attrs(trial, ATTRS)
    assert trial.user_attrs == ATTRS
    assert study.trials[0].user_attrs == ATTRS


@pytest.mark.parametrize("cv", [None, 2])
def test_a_trial_writes_its_user_attributes_in_two_commits(tmp_path, cv):
    # start (dir, where, threads, planned steps) and end (best_epoch); one commit per key
    # before: 8 a trial, one fit (dir, 4 where, threads, steps, best_epoch). A float lr: two
    # trials at one point would make the second a repeat (honed.search.repeats), one commit
    storage = sqlite_storage(tmp_path)
    study = optuna.create_study(storage=storage, direction="maximize",
                                pruner=optuna.pruners.NopPruner())
    objective = TrialObjective(spec_from_dict(SPEC),
                               parse_objectives(["val.accuracy:max"], "classification"),
                               tmp_path / "study", cv=cv)
    counted = WriteCommits(storage.engine)
    study.optimize(objective, n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    assert not any(REPEAT_OF_ATTR in t.user_attrs for t in study.trials)
    per_trial = 2 + (cv or 0)  # cv: each fold's values (honed.cv.folds) too
    assert counted.user_attrs == 2 * per_trial
    attrs = study.trials[0].user_attrs
    assert attrs[STEPS_ATTR] == ({"unit": "fold", "total": 2} if cv
                                 else {"unit": "epoch", "total": 1})
    assert {"dir", "worker", "host", "device", "threads", "best_epoch"} <= set(attrs)
