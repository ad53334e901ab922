"""DDP with real gloo processes on CPU: parity with one process, rank-0 writes, failures, bad input.

Each rank runs one torch thread on iris (106 training rows); the batch of 13 splits 6/7 over
two ranks, so the weighted all-reduce is what makes the gradient the single-process mean.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from honed.cli.main import main
from honed.spec import load_spec
from honed.train.launch import train_distributed
from honed.train.session import train_spec
from tests.helpers import wait_until

SRC = str(Path(__file__).resolve().parents[2] / "src")
DEADLINE = 240.0  # seconds: generous, for a loaded machine; only ever a bound on waiting

SPEC = {
    "name": "ddp",
    "data": {"source": "builtin:iris", "scale": "standard", "augment": {"noise": 0.05}},
    "model": {"family": "mlp", "hidden": 16, "depth": 2, "dropout": 0.0},
    "train": {"epochs": 3, "batch_size": 13, "threads": 1, "probes": False,
              "optimizer": {"name": "adam", "lr": 0.01}},
}


def write_spec(tmp_path: Path, **train) -> Path:
    spec = json.loads(json.dumps(SPEC))
    spec["train"].update(train)
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def curve(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]


def test_two_processes_match_one_and_resume(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    path = write_spec(tmp_path)
    one = train_spec(load_spec(path), out_dir=tmp_path / "one", progress=False,
                     evaluate_test=False)
    two = tmp_path / "two"
    train_distributed(load_spec(path, overrides=["train.epochs=2"]), nproc=2, out_dir=two,
                      progress=False, evaluate_test=False)
    outcome = train_distributed(load_spec(path), nproc=2, out_dir=two, resume=True,
                                progress=False, evaluate_test=False)
    assert outcome.metrics["world_size"] == 2 and outcome.result.epochs_run == 3
    expected, got = one.result.history, curve(two)
    assert [r["epoch"] for r in got] == [1, 2, 3]
    for a, b in zip(expected, got, strict=True):
        assert b["train"]["loss"] == pytest.approx(a["train"]["loss"], abs=1e-5)
        assert b["train"]["accuracy"] == a["train"]["accuracy"]
        assert b["val"]["loss"] == pytest.approx(a["val"]["loss"], abs=1e-5)
    weights = [load_file(run / "model" / "weights.safetensors") for run in (tmp_path / "one", two)]
    for name, tensor in weights[0].items():
        torch.testing.assert_close(weights[1][name], tensor, atol=1e-5, rtol=0)
    # the two-process checkpoint resumes with two processes only
    assert main(["train", str(path), "--out", str(two), "--resume", "--quiet",
                 "train.epochs=4"]) == 2


HOOK = """
import json, os, sys
written = []
def hook(event, args):
    if event == "open" and args[0] is not None:
        mode, flags = args[1] or "", args[2] or 0
        if any(c in mode for c in "wax+") or flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            written.append(str(args[0]))
    elif event in ("os.mkdir", "os.remove"):
        written.append(str(args[0]))
    elif event in ("os.rename", "os.replace"):
        written.extend([str(args[0]), str(args[1])])
sys.addaudithook(hook)
from honed.cli.main import main
code = main(sys.argv[1:])
written = [p for p in written if "__pycache__" not in p]
print("WRITES " + json.dumps(written), flush=True)
sys.exit(code)
"""


def start_ranks(args: list[str], tmp_path: Path, *, world: int = 2) -> list[subprocess.Popen]:
    """``world`` processes as torchrun starts them: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_*."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    processes = []
    for rank in range(world):
        env = {**os.environ, "PYTHONPATH": SRC, "RANK": str(rank), "LOCAL_RANK": str(rank),
               "WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
               "OMP_NUM_THREADS": "1", "HONED_DDP_TIMEOUT": "120"}
        processes.append(subprocess.Popen([sys.executable, "-c", HOOK, "train", *args],
                                          env=env, cwd=tmp_path, text=True,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    return processes


def finish(processes: list[subprocess.Popen]) -> list[tuple[int, str, str]]:
    try:
        outputs = [p.communicate(timeout=DEADLINE) for p in processes]
        return [(p.returncode, *out) for p, out in zip(processes, outputs, strict=True)]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()


def test_torchrun_ranks_only_rank0_writes(tmp_path):
    path = write_spec(tmp_path, epochs=2, batch_size=16)
    run = tmp_path / "run"
    # BatchNorm: on CPU each rank normalizes with its own rows (no SyncBatchNorm there)
    results = finish(start_ranks([str(path), "--out", str(run), "--quiet", "model.norm=batch"],
                                 tmp_path))
    codes = [process_code for process_code, _, _ in results]
    assert codes == [0, 0], [err for _, _, err in results]
    # torch itself may make temporary folders in /tmp; the ranks' own files go to tmp_path
    writes = [[p for p in json.loads(out.split("WRITES ", 1)[1]) if p.startswith(str(tmp_path))]
              for _, out, _ in results]
    assert writes[1] == []
    assert any(p.endswith("metrics.json") for p in writes[0])
    assert "final metrics" in results[0][1] and "final metrics" not in results[1][1]
    assert [r["epoch"] for r in curve(run)] == [1, 2]


def test_a_killed_rank_takes_the_group_down(tmp_path):
    path = write_spec(tmp_path, epochs=100000)
    run = tmp_path / "run"
    processes = start_ranks([str(path), "--out", str(run), "--quiet"], tmp_path)
    try:
        wait_until(lambda: (run / "checkpoints" / "last.safetensors").is_file(),
                   what="rank 0's first checkpoint", timeout=DEADLINE, processes=processes)
        processes[1].kill()
        code, _, err = finish(processes[:1])[0]
    finally:
        finish(processes)
    assert code == 1
    assert "rank 0/2: the process group broke" in err
    assert curve(run)  # rank 0 kept what it had


def test_launcher_stops_the_others_and_names_the_rank(tmp_path):
    path = write_spec(tmp_path, epochs=100000)
    run = tmp_path / "run"
    parent = subprocess.Popen([sys.executable, "-m", "honed", "train", str(path), "--nproc", "2",
                               "--out", str(run), "--quiet"], cwd=tmp_path, text=True,
                              env={**os.environ, "PYTHONPATH": SRC},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: (run / "history.jsonl").is_file(), what="the first epoch's history",
                   timeout=DEADLINE, processes=[parent])
        ranks = [pid for pid in children(parent.pid) if b"resource_tracker" not in cmdline(pid)]
        assert len(ranks) == 2
        os.kill(ranks[1], signal.SIGKILL)
        _, err = parent.communicate(timeout=DEADLINE)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.communicate()
    assert parent.returncode == 1
    assert "was killed by SIGKILL; the other ranks were stopped" in err
    assert not any(Path(f"/proc/{pid}").exists() and b"honed" in cmdline(pid) for pid in ranks)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.mark.parametrize(("args", "says"), [
    (["--nproc", "0"], "--nproc must be at least 1; got 0"),
    (["--nproc", "107"], "--nproc 107 starts more processes than the 106 training rows"),
    (["--nproc", "4", "train.batch_size=3"], "train.batch_size 3 is too small for --nproc 4"),
    (["--nproc", "4", "train.batch_size=8"], "the last batch of each epoch holds 2"),
    (["--nproc", "2", "model.norm=batch"], "BatchNorm on CPU needs 2 rows per process"),
    (["--nproc", "2", "train.device=cuda"], "no CUDA device is available"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, capsys, args, says):
    if "train.device=cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    path = write_spec(tmp_path)
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--quiet", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err
    assert not (tmp_path / "run").exists()


def test_resume_with_another_world_size_is_refused(tmp_path, capsys):
    path = write_spec(tmp_path, epochs=1)
    run = tmp_path / "run"
    assert main(["train", str(path), "--out", str(run), "--quiet"]) == 0
    before = sorted((p, p.stat().st_mtime_ns) for p in run.rglob("*"))
    capsys.readouterr()
    assert main(["train", str(path), "--out", str(run), "--quiet", "--resume", "--nproc", "2",
                 "train.epochs=2"]) == 2
    assert "written by 1 process(es); resume with --nproc 1, not 2" in capsys.readouterr().err
    assert sorted((p, p.stat().st_mtime_ns) for p in run.rglob("*")) == before


def test_nproc_must_agree_with_torchrun(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    path = write_spec(tmp_path)
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--nproc", "3"]) == 2
    assert "--nproc 3 under torchrun, which started 2 processes" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_bad_timeout_is_refused_before_any_process_starts(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HONED_DDP_TIMEOUT", "soon")
    path = write_spec(tmp_path)
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--nproc", "2"]) == 2
    assert "HONED_DDP_TIMEOUT must be a number of seconds > 0; got 'soon'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
