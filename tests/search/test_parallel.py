"""Parallel studies on a real PostgreSQL server: ``honed tune --workers 2`` and a ``honed worker``
joining a running study, each worker process with its share of the cores."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from honed.search.storage import open_storage
from honed.search.study import SURPLUS, counted_trials
from tests.helpers import wait_until

SPEC = """\
name: {name}
data: {{source: builtin:digits}}
model: {{family: mlp, hidden: {{int: [16, 64], log: true}}, dropout: {{float: [0.0, 0.3]}}}}
train: {{epochs: {epochs}, batch_size: 32, optimizer: {{name: adamw, lr: {{float: [1.0e-3, 1.0e-2], log: true}}}}}}
search: {{trials: 20, pruner: none, objectives: ["val.accuracy:max"]}}
"""


def write_spec(folder, name, epochs):
    path = folder / "spec.yaml"
    path.write_text(SPEC.format(name=name, epochs=epochs))
    return path


def load(url, name) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(url))


def workers_of(trials) -> dict[str, int]:
    out: dict[str, int] = {}
    for trial in trials:
        out[trial.user_attrs["worker"]] = out.get(trial.user_attrs["worker"], 0) + 1
    return out


def test_two_workers_share_a_postgresql_study(tmp_path, honed, postgres_url):
    spec = write_spec(tmp_path, "par", epochs=6)
    code, err = honed.run("tune", spec, "--workers", 2, "--storage", postgres_url, "--trials", 6,
                          "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    trials = load(postgres_url, "par").get_trials()
    counted = counted_trials(trials)
    assert len(counted) == 6 and all(t.state == TrialState.COMPLETE for t in counted)
    assert len([t for t in trials if not t.user_attrs.get(SURPLUS)]) == 6
    # two processes ran trials, each with the threads the coordinator chose: train.threads auto
    # keeps the OMP_NUM_THREADS=1 that the fixture runs honed with
    assert len(workers_of(counted)) == 2, workers_of(counted)
    assert {t.user_attrs["threads"] for t in counted} == {1}
    study_dir = tmp_path / "run" / "study"
    assert sorted(p.name for p in (study_dir / "workers").iterdir()) == ["00.log", "01.log"]
    assert not (study_dir / "study.db").exists()  # the study lives in PostgreSQL only
    assert len((study_dir / "trials.csv").read_text().splitlines()) == 1 + len(trials)


def test_a_worker_joins_a_running_study_from_elsewhere(tmp_path, honed, postgres_url):
    spec = write_spec(tmp_path, "join", epochs=20)
    coordinator = honed.start("tune", spec, "--storage", postgres_url, "--trials", 8,
                              "--out", tmp_path / "here", "--quiet")
    wait_until(lambda: optuna.get_all_study_names(open_storage(postgres_url)),
               until=lambda names: "join" in names, what="honed tune to create the study",
               interval=0.2, processes=[coordinator], output=honed.stderr)
    # no --trials: the worker follows the 8 that honed tune was given, not the spec's 20
    joined = honed.start("worker", spec, "--storage", postgres_url, "--out", tmp_path / "there")
    for proc in (coordinator, joined):
        code, err = honed.wait(proc)
        assert code == 0, err
    counted = counted_trials(load(postgres_url, "join").get_trials())
    assert len(counted) == 8
    assert all(t.state == TrialState.COMPLETE for t in counted)
    ran = workers_of(counted)
    assert len(ran) == 2, ran
    folders = {t.user_attrs["dir"].split("/trials/")[0] for t in counted}
    assert folders == {str(tmp_path / "here" / "study"), str(tmp_path / "there" / "study")}
    # the two samplers were seeded apart: no point drawn twice
    assert len({tuple(sorted(t.params.items())) for t in counted}) == 8
