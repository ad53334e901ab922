"""The command line contract: exit codes, one-line errors, nothing written on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from honed.cli.main import main

IRIS = """\
name: iris
data: {source: builtin:iris}
model: {family: mlp, hidden: 16}
train: {epochs: 3, batch_size: 16}
"""


def write(folder: Path, text: str, name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def run_cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "honed.cli.main", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200"})


def test_train_writes_the_run_dir(tmp_path, capsys):
    spec = write(tmp_path, IRIS)
    assert main(["train", str(spec), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    run = tmp_path / "run"
    for name in ("spec.yaml", "metrics.json", "history.jsonl", "model/weights.safetensors",
                 "model/model.json", "model/preprocess.json", "checkpoints/last.safetensors",
                 "checkpoints/best.safetensors"):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"val", "test", "params", "seconds"} <= set(metrics)
    assert "accuracy" in metrics["test"] and "confusion_matrix" in metrics["test"]
    assert len((run / "history.jsonl").read_text().splitlines()) == 3
    out = capsys.readouterr().out
    assert "final metrics" in out and "run dir:" in out


def test_default_out_is_runs_name_and_rerun_refuses(tmp_path):
    write(tmp_path, IRIS)
    first = run_cli("train", "spec.yaml", "train.epochs=1", "--quiet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "runs" / "iris" / "metrics.json").is_file()
    again = run_cli("train", "spec.yaml", "--quiet", cwd=tmp_path)
    assert again.returncode == 2
    assert "already holds a run" in again.stderr and len(again.stderr.strip().splitlines()) == 1


def test_evaluate_reproduces_test_metrics(tmp_path, capsys):
    spec = write(tmp_path, IRIS)
    main(["train", str(spec), "--out", str(tmp_path / "run"), "--quiet"])
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run"), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]
    assert shown["accuracy"] == saved["accuracy"]


@pytest.mark.parametrize("spec_text, override, fragment", [
    ("data: {source: builtin:iris}\nmodel: {family: mlp, widht: 3}\n", None, "model.widht is not a known key"),
    ("data: {source: builtin:nope}\nmodel: {family: mlp}\n", None, "nope"),
    ("data: {source: missing.csv, target: y}\nmodel: {family: mlp}\n", None, "missing.csv"),
    (IRIS, "train.optimizer.lr=-1", "train.optimizer.lr must be a finite number greater than 0, or auto; got -1"),
    (IRIS, "model.family=nosuch", "nosuch"),
    (IRIS, "train.monitor=val.r2", "train.monitor must name a metric"),
    ("data: {source: [\n", None, "malformed YAML"),
    (IRIS.replace("hidden: 16", "hidden: &w 16") + "search: {trials: *w}\n", None,
     "spec.yaml: line 5, column 18: aliases (*w) are not allowed in a spec"),
    (IRIS, "seed=18446744073709551616", "seed must be less than or equal to 4294967295"),
    (IRIS, "train.optimizer.lr=.inf", "train.optimizer.lr must be a finite number"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path, spec_text, override, fragment):
    write(tmp_path, spec_text)
    before = sorted(p.name for p in tmp_path.iterdir())
    args = ["train", "spec.yaml", "--quiet"] + ([override] if override else [])
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_bad_arguments_are_one_line(tmp_path):
    result = run_cli("train", cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    result = run_cli("list", "things", cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_checkpoint_that_does_not_fit_the_model(tmp_path):
    spec = write(tmp_path, IRIS)
    assert main(["train", str(spec), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    result = run_cli("train", "spec.yaml", "--out", "b", "--quiet", "model.hidden=32",
                     f"model.init_from={tmp_path / 'a'}", cwd=tmp_path)
    assert result.returncode == 2
    assert "shape" in result.stderr and not (tmp_path / "b").exists()


def test_transfer_from_a_run_with_a_new_head(tmp_path):
    from safetensors.torch import load_file

    from honed.train.callbacks.probes import read_probes

    spec = write(tmp_path, IRIS)
    assert main(["train", str(spec), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    # lr 1e-12 leaves every weight where it started, so b's weights show what it started from
    result = run_cli("train", "spec.yaml", "--out", "b", "--quiet", "model.init_from=a",
                     "model.init_exclude=['head.*']", "model.freeze=['body.0']",
                     "model.unfreeze_after=2", "train.optimizer.lr=1e-12", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    before = load_file(tmp_path / "a" / "model" / "weights.safetensors")
    after = load_file(tmp_path / "b" / "model" / "weights.safetensors")
    assert set(after) == set(before)
    for name in before:
        copied = bool((after[name] == before[name]).all())
        assert copied == (not name.startswith("head.")), name  # the head is a new one
    # body.0 gets no gradient while frozen (epochs 1 and 2), then trains from epoch 3 on
    trained = [sorted(line["grad_norm"]) for line in read_probes(tmp_path / "b" / "probes.jsonl")]
    assert [("body.0" in layers, "head" in layers) for layers in trained] == [
        (False, True), (False, True), (True, True)]


def test_validate_and_list(tmp_path, capsys):
    spec = write(tmp_path, IRIS.replace("hidden: 16", "hidden: {int: [8, 64]}"))
    assert main(["validate", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "model.hidden" in out
    for what in ("datasets", "models", "optimizers", "schedules"):
        assert main(["list", what]) == 0
    out = capsys.readouterr().out
    for name in ("builtin:mnist1d", "transformer", "nesterov", "onecycle"):
        assert name in out


def test_lr_find_prints_and_saves_a_suggestion(tmp_path, capsys):
    spec = write(tmp_path, IRIS)
    assert main(["lr-find", str(spec), "--out", str(tmp_path / "run"), "--steps", "60"]) == 0
    saved = json.loads((tmp_path / "run" / "lr_find.json").read_text())
    assert 1e-7 <= saved["suggested_lr"] <= 10
    assert len(saved["lrs"]) == len(saved["losses"]) > 10
    assert "suggested lr" in capsys.readouterr().out


def test_a_spec_imports_python_only_with_allow_import(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "cli_side_effect.py").write_text(
        "from pathlib import Path\n\nfrom torch import nn\n\n"
        "Path(__file__).with_name('ran.txt').write_text('ran')\n\n\n"
        "def build(input_shape, num_outputs, *, task='classification'):\n"
        "    return nn.Linear(input_shape[0], num_outputs)\n")
    write(tmp_path, IRIS.replace("family: mlp, hidden: 16", "family: 'cli_side_effect:build'"))
    path = os.pathsep.join([str(tmp_path / "code"), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "COLUMNS": "200", "HONED_ALLOW_IMPORT": "", "PYTHONPATH": path}

    def honed(*args):
        return subprocess.run([sys.executable, "-m", "honed.cli.main", *args], cwd=tmp_path,
                              capture_output=True, text=True, env=env)

    for command in (["validate", "spec.yaml"], ["train", "spec.yaml", "--out", "run"]):
        refused = honed(*command)
        assert refused.returncode == 2, refused.stderr
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "model.family: 'cli_side_effect:build' would import" in lines[0]
        assert "pass --allow-import to a command that reads a spec" in lines[0]
        assert not (tmp_path / "code" / "ran.txt").exists() and not (tmp_path / "run").exists()
    allowed = honed("validate", "spec.yaml", "--allow-import")
    assert allowed.returncode == 0, allowed.stderr
    assert "model cli_side_effect:build" in allowed.stdout.replace("\n", " ")
    assert (tmp_path / "code" / "ran.txt").read_text() == "ran"
