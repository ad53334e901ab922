"""Workers named by host and device: ``honed study show``'s workers table and the progress line."""

from __future__ import annotations

from datetime import datetime

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from honed.cli.main import main
from honed.search.progress import snapshot
from honed.search.where import where_attrs, worker_label

DISTRIBUTIONS = {"model.dropout": FloatDistribution(0.0, 0.5)}


def where(host: str, pid: int, gpus: str | None, device: str = "cuda") -> dict:
    return {"worker": f"{host}:{pid}", "host": host, "gpus": gpus, "device": device}


def make_study(path, trials) -> optuna.Study:
    (path / "study").mkdir(parents=True)
    study = optuna.create_study(study_name="hosts", direction="maximize",
                                storage=f"sqlite:///{path / 'study' / 'study.db'}")
    for i, (state, attrs) in enumerate(trials):
        study.add_trial(create_trial(
            state=state, value=0.5 + i / 100 if state == TrialState.COMPLETE else None,
            params={"model.dropout": 0.1 * i}, distributions=DISTRIBUTIONS, user_attrs=attrs))
    return study


def test_study_show_lists_workers_with_host_and_device(tmp_path, capsys):
    make_study(tmp_path / "run", [
        (TrialState.COMPLETE, where("node1", 11, "0")),
        (TrialState.COMPLETE, where("node2", 22, "0,1")),
        (TrialState.COMPLETE, where("node1", 11, "0")),
        (TrialState.FAIL, where("node2", 33, None, "cpu")),
        (TrialState.WAITING, where("node2", 33, None, "cpu")),  # its retry, not run yet
    ])
    assert main(["study", "show", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    table = out.split("workers (3 on 2 hosts)")[1]
    rows = [line for line in table.splitlines() if "node" in line]
    cells = [[c.strip() for c in row.strip("│ ").split("│")] for row in rows]
    assert cells == [["node1", "cuda, GPU 0", "11", "2", "0", "0", "0", "2"],
                     ["node2", "cuda, GPUs 0,1", "22", "1", "0", "0", "0", "1"],
                     ["node2", "cpu", "33", "0", "0", "1", "0", "3"]]


def test_one_worker_without_gpus_shows_no_table(tmp_path, capsys):
    make_study(tmp_path / "run", [(TrialState.COMPLETE, where("node1", 11, None, "cpu"))] * 2)
    assert main(["study", "show", str(tmp_path / "run")]) == 0
    assert "workers (" not in capsys.readouterr().out


def test_progress_names_host_and_gpu_of_running_trials(tmp_path):
    study = make_study(tmp_path / "run", [
        (TrialState.RUNNING, where("node1", 11, "1")),
        (TrialState.RUNNING, where("node2", 22, None, "cpu")),
    ])
    shot = snapshot(study, 4, now=datetime.now())
    assert shot.running == "trial 0 starting on node1 GPU 1, trial 1 starting on node2"
    single = make_study(tmp_path / "one", [(TrialState.RUNNING, where("node1", 11, None))])
    assert snapshot(single, 4, now=datetime.now()).running == "trial 0 starting"


def test_a_worker_records_and_names_where_it_runs(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    attrs = where_attrs("cuda")
    assert attrs["gpus"] == "2,3" and attrs["device"] == "cuda"
    assert attrs["worker"] == f"{attrs['host']}:{__import__('os').getpid()}"
    assert worker_label(4).startswith(f"worker 4 on {attrs['host']} (pid ")
    assert worker_label(4).endswith(", GPUs 2,3)")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert where_attrs("cpu")["gpus"] is None and "GPU" not in worker_label()
