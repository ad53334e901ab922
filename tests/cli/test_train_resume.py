"""`honed train --resume` after SIGKILL continues bit for bit (a real subprocess is killed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from honed.train.checkpoint import read_checkpoint
from tests.helpers import wait_until

SPEC = """\
name: resume
seed: 7
data: {source: builtin:digits, split: {val: 0.2, test: 0.2}}
model: {family: cnn, channels: [8, 16], hidden: 32, dropout: 0.2}
train:
  epochs: 8
  batch_size: 32
  optimizer: {name: adamw, lr: 3.0e-3, weight_decay: 1.0e-4}
  schedule: {name: cosine, warmup_epochs: 1}
  ema: {decay: 0.9}
  threads: 1
"""


def honed(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.Popen([sys.executable, "-m", "honed.cli.main", *args, "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def epochs_done(run: Path) -> int:
    history = run / "history.jsonl"
    return len(history.read_text().splitlines()) if history.exists() else 0


def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    whole, killed = tmp_path / "whole", tmp_path / "killed"

    straight = honed("train", str(spec), "--out", str(whole))
    victim = honed("train", str(spec), "--out", str(killed))
    wait_until(lambda: epochs_done(killed), until=lambda n: n >= 3,
               what="3 epochs in the history", interval=0.01, processes=[victim],
               output=lambda p: p.stderr.read().decode())
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    assert not (killed / "metrics.json").exists(), "the run finished before it was killed"

    resumed = honed("train", str(spec), "--out", str(killed), "--resume")
    for proc in (straight, resumed):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()

    def curve(run):
        return [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]

    a, b = curve(whole), curve(killed)
    assert [r["epoch"] for r in b] == list(range(1, 9))
    for x, y in zip(a, b, strict=True):
        assert x["train"] == y["train"] and x["val"] == y["val"] and x["lr"] == y["lr"]
    wa = load_file(whole / "model" / "weights.safetensors")
    wb = load_file(killed / "model" / "weights.safetensors")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    ma, mb = (json.loads((r / "metrics.json").read_text()) for r in (whole, killed))
    assert ma["test"] == mb["test"]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_exits_130_and_the_same_command_resumes(tmp_path, signum):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    run = tmp_path / "run"
    proc = honed("train", str(spec), "--out", str(run))
    wait_until(lambda: epochs_done(run), until=lambda n: n >= 3,
               what="3 epochs in the history", interval=0.01, processes=[proc],
               output=lambda p: p.stderr.read().decode())
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert "--resume" in err.decode()
    # the checkpoint holds the last finished epoch, not the first one (the last scheduled
    # save: the default waits 30 s); the signal may land between an epoch's history line and
    # the end of that epoch, whose checkpoint then holds the epoch before
    _, state = read_checkpoint(run / "checkpoints" / "last.safetensors")
    assert state["epoch"] >= epochs_done(run) - 1 >= 2
    resumed = honed("train", str(spec), "--out", str(run), "--resume")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err.decode()
    assert epochs_done(run) == 8
