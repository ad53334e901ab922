"""Study storage and the bookkeeping of crash safety, without starting workers: unreachable
storage URLs, counting retried and surplus trials, the sweeper's silent-trial check, an
interrupted trial queued again, non-finite values never best."""

from __future__ import annotations

import math
import sqlite3

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState, create_trial

from honed.cli.main import main
from honed.search.results import best_trials
from honed.search.storage import open_storage, safe_url, settle, with_driver
from honed.search.study import SURPLUS, counted_trials, finished_count
from honed.search.sweeper import StaleTrialSweeper
from honed.search.worker import _surplus, work
from tests.search.conftest import free_port

SPEC = """\
name: s
data: {source: builtin:iris}
model: {family: mlp, hidden: {int: [8, 32]}}
train: {epochs: 2, batch_size: 16, optimizer: {name: adamw, lr: {float: [1.0e-3, 1.0e-1], log: true}}}
search: {trials: 2, objectives: ["val.accuracy:max"]}
"""


def one_line_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("command", ["tune", "worker"])
def test_closed_postgres_port_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, command):
    (tmp_path / "spec.yaml").write_text(SPEC)
    url = f"postgresql://honed:s3cret@127.0.0.1:{free_port()}/study"
    quiet = ["--quiet"] if command == "tune" else []
    assert main([command, "spec.yaml", "--storage", url, "--out", "run", *quiet]) == 2
    line = one_line_error(capsys)
    assert "cannot reach storage postgresql://honed:***@127.0.0.1" in line, line
    assert "s3cret" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


def test_sqlite_in_a_missing_folder_is_one_line_exit_2_and_nothing_written(tmp_path, capsys):
    (tmp_path / "spec.yaml").write_text(SPEC)
    url = f"sqlite:///{tmp_path}/missing/folder/study.db"
    assert main(["tune", "spec.yaml", "--storage", url, "--out", "run", "--quiet"]) == 2
    assert "folder" in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


@pytest.mark.parametrize("url, fragment", [
    ("redis://localhost/0", "must be a sqlite:///, postgresql:// or mysql://"),
    ("sqlite://", "keeps the study in memory"),
])
def test_storage_urls_that_cannot_hold_a_shared_study_are_refused(tmp_path, capsys, url,
                                                                  fragment):
    (tmp_path / "spec.yaml").write_text(SPEC)
    assert main(["tune", "spec.yaml", "--storage", url, "--quiet"]) == 2
    assert fragment in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


def test_worker_without_a_study_is_told_to_start_one(tmp_path, capsys):
    (tmp_path / "spec.yaml").write_text(SPEC)
    url = f"sqlite:///{tmp_path}/study.db"
    assert main(["worker", "spec.yaml", "--storage", url]) == 2
    assert "no study named 's'" in one_line_error(capsys)


def test_plain_postgresql_urls_get_an_installed_driver():
    pytest.importorskip("psycopg2")
    url = with_driver("postgresql://u:pw@db:5432/study")
    assert url.startswith("postgresql") and url.endswith("u:pw@db:5432/study")
    assert safe_url("postgresql://u:pw@db/study") == "postgresql://u:***@db/study"


# ---------------------------------------------------------------- counting


def test_retry_chains_and_surplus_trials_do_not_count():
    study = optuna.create_study()
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}

    def add(state, number_attrs=None, user_attrs=None, value=None):
        study.add_trial(create_trial(state=state, params={"x": 0.5}, distributions=dist,
                                     value=value, system_attrs=number_attrs or {},
                                     user_attrs=user_attrs or {}))

    add(TrialState.COMPLETE, value=1.0)                                    # 0 counts
    add(TrialState.FAIL)                                                   # 1 retried by 2
    add(TrialState.FAIL, {"failed_trial": 1, "retry_history": [1]})        # 2 retried by 3
    add(TrialState.WAITING, {"failed_trial": 1, "retry_history": [1, 2]})  # 3 counts, queued
    add(TrialState.FAIL, user_attrs={SURPLUS: True})                       # 4 surplus
    add(TrialState.FAIL)                                                   # 5 a real failure
    trials = study.get_trials()
    assert [t.number for t in counted_trials(trials)] == [0, 5]
    assert [t.number for t in counted_trials(trials, in_flight=True)] == [0, 3, 5]
    assert finished_count(study) == 2 and finished_count(study, in_flight=True) == 3


def test_of_two_workers_racing_for_the_last_trial_the_later_steps_back():
    study = optuna.create_study()
    first, second = study.ask(), study.ask()
    assert not _surplus(first, 1) and _surplus(second, 1)
    assert not _surplus(first, 2) and not _surplus(second, 2)
    # a re-queued trial is always ahead of fresh ones, and never surplus itself
    study.add_trial(create_trial(state=TrialState.WAITING, system_attrs={"failed_trial": 0}))
    retry = study.ask()
    assert RetryHeartbeatStaleTrialCallback.retried_trial_number(
        study._storage.get_trial(retry._trial_id)) == 0
    assert not _surplus(retry, 1) and not _surplus(first, 2) and _surplus(second, 2)


# ---------------------------------------------------------------- SQLite's write-ahead log


def test_a_sqlite_study_runs_in_wal_mode_and_settles_into_study_db(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(storage=open_storage(url, writer=True))
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=3)
    with sqlite3.connect(tmp_path / "s.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert (tmp_path / "s.db-wal").stat().st_size > 0  # the trials are in the log so far
    settle(url)
    assert (tmp_path / "s.db-wal").stat().st_size == 0  # and now in s.db alone
    copy = tmp_path / "copy.db"
    copy.write_bytes((tmp_path / "s.db").read_bytes())
    copied = optuna.load_study(study_name=study.study_name, storage=f"sqlite:///{copy}")
    assert len(copied.trials) == 3


def test_a_reader_leaves_the_journal_mode_of_a_sqlite_file_alone(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    optuna.create_study(storage=url, study_name="old")  # as a study made before honed used WAL
    optuna.load_study(study_name="old", storage=open_storage(url))
    with sqlite3.connect(tmp_path / "s.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)


def test_honed_tune_leaves_a_complete_study_db(tmp_path):
    (tmp_path / "s.yaml").write_text(SPEC)
    assert main(["tune", str(tmp_path / "s.yaml"), "--out", str(tmp_path / "run")]) == 0
    database = tmp_path / "run" / "study" / "study.db"
    wal = database.with_name("study.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    copy = tmp_path / "copy.db"
    copy.write_bytes(database.read_bytes())
    assert len(optuna.load_study(study_name="s", storage=f"sqlite:///{copy}").trials) == 2


# ---------------------------------------------------------------- crash safety, in process


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")
def test_a_running_trial_that_never_beat_is_failed_and_retried(tmp_path):
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path}/s.db"))
    trial = study.ask()  # RUNNING, as if its worker died before its first heartbeat
    x = trial.suggest_float("x", 0.0, 1.0)
    sweeper = StaleTrialSweeper(study, grace=0.0)
    sweeper.sweep()  # first seen: not failed yet
    assert study.trials[0].state == TrialState.RUNNING
    sweeper.sweep()
    dead, retry = study.trials
    assert dead.state == TrialState.FAIL and retry.state == TrialState.WAITING
    assert RetryHeartbeatStaleTrialCallback.retried_trial_number(retry) == dead.number
    assert retry.params == {"x": x}


def test_an_interrupted_trial_is_queued_again_with_its_parameters(tmp_path):
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path}/s.db"))
    seen = []

    def objective(trial):
        seen.append(trial.suggest_float("x", 0.0, 1.0))
        if len(seen) == 1:
            raise KeyboardInterrupt
        return seen[-1]

    with pytest.raises(KeyboardInterrupt):
        work(study, objective, trials=2)
    interrupted, queued = study.trials
    assert interrupted.state == TrialState.FAIL and queued.state == TrialState.WAITING
    assert finished_count(study) == 0 and finished_count(study, in_flight=True) == 1
    assert work(study, objective, trials=2) == 2  # the same command continues the study
    assert seen[1] == seen[0]  # the queued trial ran first, with the same point
    assert finished_count(study) == 2 and len(study.trials) == 3


def test_non_finite_values_are_never_best():
    for direction, bad in (("minimize", -math.inf), ("maximize", math.inf)):
        study = optuna.create_study(direction=direction)
        study.add_trial(create_trial(value=bad))
        study.add_trial(create_trial(value=0.5))
        assert [t.value for t in best_trials(study)] == [0.5]


def test_worker_without_storage_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("HONED_STORAGE", raising=False)
    (tmp_path / "spec.yaml").write_text(SPEC)
    assert main(["worker", "spec.yaml"]) == 2
    assert "--storage URL, or the URL in $HONED_STORAGE" in one_line_error(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]


def test_worker_reads_the_storage_url_from_the_environment(tmp_path, capsys, monkeypatch):
    (tmp_path / "spec.yaml").write_text(SPEC)
    monkeypatch.setenv("HONED_STORAGE", f"sqlite:///{tmp_path}/study.db")
    assert main(["worker", "spec.yaml"]) == 2  # it reached the storage: the study is missing
    assert "no study named 's'" in one_line_error(capsys)


def test_local_workers_get_the_storage_url_by_environment_not_argv(tmp_path):
    from honed.search.tune import prepare_study, worker_command
    from honed.spec import load_spec

    (tmp_path / "spec.yaml").write_text(SPEC)
    template = load_spec(tmp_path / "spec.yaml")
    url = f"sqlite:///{tmp_path}/study.db"
    setup = prepare_study(template, out_dir=tmp_path / "run", storage=url)
    command, env = worker_command(setup, template, threads=1, deadline=None)
    assert env["HONED_STORAGE"] == url
    assert not any(url in part or "study.db" in part for part in command), command
