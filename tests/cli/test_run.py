"""``honed run``: tune → refit → test once, each stage skipped when its output is there."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import optuna
import pytest

from honed.cli.main import main
from honed.models import load_model

SEARCH = """\
name: iris-run
data: {source: builtin:iris}
model: {family: mlp, hidden: {int: [4, 32]}, dropout: {float: [0.0, 0.3]}}
train: {epochs: 3, batch_size: 16, optimizer: {name: adam, lr: {float: [1.0e-3, 1.0e-1], log: true}}}
search: {sampler: random, pruner: none, trials: 3, objectives: [val.accuracy:max]REFIT}
"""


def write_spec(folder: Path, *, refit: str = "", objectives: str = "") -> Path:
    text = SEARCH.replace("REFIT", f", refit: {refit}" if refit else "")
    if objectives:
        text = text.replace("[val.accuracy:max]", objectives)
    path = folder / "spec.yaml"
    path.write_text(text)
    return path


def metrics_of(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def trials_in(run: Path) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name="iris-run",
                              storage=f"sqlite:///{run / 'study' / 'study.db'}")
    return study.trials


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """One finished ``honed run``; tests copy it before changing anything."""
    folder = tmp_path_factory.mktemp("finished")
    spec = write_spec(folder)
    assert main(["run", str(spec), "--out", str(folder / "run"), "--quiet"]) == 0
    return folder / "run"


def copy_run(finished: Path, tmp_path: Path) -> tuple[Path, Path]:
    run = tmp_path / "run"
    shutil.copytree(finished, run)
    return write_spec(tmp_path), run


def test_run_writes_the_run_dir_and_tests_once(finished, capsys):
    for name in ("spec.yaml", "metrics.json", "history.jsonl", "probes.jsonl",
                 "model/weights.safetensors", "model/model.json", "model/preprocess.json",
                 "study/study.db", "study/best.json", "study/trials.csv", "report.html"):
        assert (finished / name).is_file(), name
    metrics = metrics_of(finished)
    # the kept trial's probes come with its model, so honed doctor sees its gradients
    probes = [json.loads(line) for line in (finished / "probes.jsonl").read_text().splitlines()]
    history = (finished / "history.jsonl").read_text().splitlines()
    assert [p["epoch"] for p in probes] == list(range(1, len(history) + 1))
    assert {"val", "test", "params", "best_trial", "refit"} <= set(metrics)
    best = json.loads((finished / "study" / "best.json").read_text())["trials"][0]
    assert metrics["best_trial"]["number"] == best["number"]
    assert metrics["best_trial"]["values"] == best["values"]
    assert metrics["refit"]["mode"] == "best-trial" and metrics["refit"]["source"] == "trial model"
    # the kept model is the trial's: its val accuracy is the trial's objective value
    assert metrics["val"]["accuracy"] == pytest.approx(best["values"]["val.accuracy"])
    # baselines fit by the test stage, compared on the study's objective
    baselines = metrics["baselines"]
    assert [row["name"] for row in baselines["rows"]] == ["majority", "logistic"]
    assert baselines["compared_on"] == {"split": "val", "metric": "accuracy"}
    assert baselines["model_value"] == metrics["val"]["accuracy"]
    assert all("val" in row and "test" in row for row in baselines["rows"])
    # no trial ever saw the test split
    for folder in (finished / "study" / "trials").iterdir():
        assert "test" not in json.loads((folder / "metrics.json").read_text())
    assert load_model(finished / "model") is not None
    assert main(["evaluate", str(finished), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["accuracy"] == metrics["test"]["accuracy"]
    assert shown["loss"] == pytest.approx(metrics["test"]["loss"])


def test_second_run_skips_every_stage(finished, tmp_path, capsys):
    spec, run = copy_run(finished, tmp_path)
    weights = run / "model" / "weights.safetensors"
    stamps = weights.stat().st_mtime_ns, (run / "metrics.json").stat().st_mtime_ns
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 0
    assert (weights.stat().st_mtime_ns, (run / "metrics.json").stat().st_mtime_ns) == stamps
    assert len(trials_in(run)) == 3
    captured = capsys.readouterr()
    for stage in ("tune", "refit", "test"):
        assert f"{stage}: already done" in captured.err
    assert "final metrics" in captured.out and "run dir:" in captured.out


def test_lost_outputs_are_made_again_without_new_trials(finished, tmp_path):
    spec, run = copy_run(finished, tmp_path)
    before = metrics_of(run)
    # as a run killed after its last trial, before the study summary and the refit, leaves it
    shutil.rmtree(run / "model")
    for name in ("metrics.json", "study/best.json", "study/trials.csv"):
        (run / name).unlink()
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 0
    after = metrics_of(run)
    assert len(trials_in(run)) == 3 and (run / "study" / "best.json").is_file()
    assert after["test"] == before["test"] and after["refit"] == before["refit"]


def test_missing_trial_folder_retrains_the_same_model(finished, tmp_path, capsys):
    spec, run = copy_run(finished, tmp_path)
    before = metrics_of(run)
    number = before["best_trial"]["number"]
    shutil.rmtree(run / "study" / "trials" / f"{number:04d}")
    shutil.rmtree(run / "model")
    (run / "metrics.json").unlink()
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 0
    assert f"trial {number}'s model is not in" in capsys.readouterr().err
    after = metrics_of(run)
    assert after["refit"]["source"] == "trained"
    assert (run / "checkpoints" / "best.safetensors").is_file()
    # same seed, same data, same best epoch: the trial's weights come back
    assert after["val"]["loss"] == pytest.approx(before["val"]["loss"], abs=1e-6)
    assert after["test"]["accuracy"] == before["test"]["accuracy"]


def test_interrupted_study_resumes(tmp_path):
    spec = write_spec(tmp_path)
    run = tmp_path / "run"
    # a study stopped after 2 of its 3 trials, as a killed honed run leaves it
    assert main(["tune", str(spec), "--out", str(run), "--trials", "2", "--quiet"]) == 0
    first = {t.number: t.params for t in trials_in(run)}
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 0
    trials = trials_in(run)
    assert len(trials) == 3 and {t.number: t.params for t in trials[:2]} == first
    assert "test" in metrics_of(run)


def test_train_val_refit(tmp_path):
    spec = write_spec(tmp_path, refit="train+val")
    run = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 0
    metrics = metrics_of(run)
    refit = metrics["refit"]
    assert refit["mode"] == "train+val" and refit["val_seen"] is True
    assert refit["epochs"] == metrics["best_trial"]["best_epoch"] == metrics["epochs_run"]
    assert len((run / "history.jsonl").read_text().splitlines()) == refit["epochs"]
    assert json.loads((run / "checkpoints" / "refit.json").read_text())["mode"] == "train+val"
    assert "test" in metrics and load_model(run / "model") is not None
    # val was trained on: the verdict reads test, against baselines fit on train+val too
    assert metrics["baselines"]["compared_on"] == {"split": "test", "metric": "accuracy"}
    assert metrics["baselines"]["model_value"] == metrics["test"]["accuracy"]
    # killed after the last epoch, before the model was saved: the refit goes on from its
    # checkpoint instead of training again
    shutil.rmtree(run / "model")
    (run / "metrics.json").unlink()
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 0
    assert len((run / "history.jsonl").read_text().splitlines()) == refit["epochs"]
    assert metrics_of(run)["val"] == metrics["val"]


def test_multi_objective_refits_the_pareto_trial_best_on_the_first(tmp_path):
    spec = write_spec(tmp_path, objectives="[val.accuracy:max, params:min]")
    run = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 0
    study = optuna.load_study(study_name="iris-run",
                              storage=f"sqlite:///{run / 'study' / 'study.db'}")
    front = sorted(study.best_trials, key=lambda t: (-t.values[0], t.values[1], t.number))
    metrics = metrics_of(run)
    assert metrics["best_trial"]["number"] == front[0].number
    assert metrics["best_trial"]["values"] == {"val.accuracy": front[0].values[0],
                                              "params": front[0].values[1]}
    assert metrics["params"] == front[0].values[1]


def test_spec_without_dimensions_trains_and_tests(tmp_path, capsys):
    spec = tmp_path / "plain.yaml"
    spec.write_text("name: plain\ndata: {source: builtin:iris}\nmodel: {family: mlp, hidden: 8}\n"
                    "train: {epochs: 2, batch_size: 16}\n")
    run = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "no search dimensions" in captured.err
    assert "baselines on val loss" in captured.out and "logistic" in captured.out
    metrics = metrics_of(run)
    assert metrics["refit"]["mode"] == "train" and metrics["best_trial"] is None
    assert "test" in metrics and not (run / "study").exists()


def test_refuses_a_run_dir_that_honed_train_made(tmp_path, capsys):
    spec = write_spec(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text('{"val": {}, "test": {}}')
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "did not make" in err[0]
    assert not (run / "study").exists()


@pytest.fixture
def honed_process(tmp_path):
    """``honed`` commands as real processes, killed at teardown (see tests/search/conftest)."""
    from tests.search.conftest import Honed

    folder = tmp_path / "processes"
    folder.mkdir()
    runner = Honed(folder)
    yield runner
    runner.stop()


def test_ctrl_c_during_a_trial_exits_130_without_a_traceback_and_keeps_the_trial(
        tmp_path, honed_process):
    from optuna.trial import TrialState

    from honed.search.retry import INTERRUPTED_ATTR
    from tests.helpers import wait_until
    from tests.search.test_crash_safety import running_with_epochs, trials_of

    spec = write_spec(tmp_path).read_text().replace("epochs: 3", "epochs: 5000")
    (tmp_path / "spec.yaml").write_text(spec)
    run = tmp_path / "run"
    url = f"sqlite:///{run / 'study' / 'study.db'}"
    proc = honed_process.start("run", tmp_path / "spec.yaml", "--out", run, "--quiet")
    wait_until(lambda: running_with_epochs(url, "iris-run", epochs=1), what="a trial in progress",
               interval=0.1, processes=[proc], output=honed_process.stderr)
    proc.send_signal(signal.SIGINT)
    code, err = honed_process.wait(proc, timeout=120)
    assert code == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert "run the same command to continue" in err
    assert "stopped: interrupted, 0 of 3 trials in" in err
    first, again = trials_of(url, "iris-run")
    assert first.state == TrialState.FAIL and first.user_attrs[INTERRUPTED_ATTR] is True
    assert again.state == TrialState.WAITING and again.params == first.params
    best = json.loads((run / "study" / "best.json").read_text())
    assert best["stop_reason"] == "interrupted"
