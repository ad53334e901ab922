"""The cluster launchers in ``examples/cluster``, run on this machine against PostgreSQL.

Array task 0 of the Slurm script and pod 1 of the Kubernetes Job (its container's script,
as the pod would run it) share one study: task 0 runs honed tune, pod 1 honed worker, started
first, waiting for the study.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from optuna.trial import TrialState

from honed.search.study import counted_trials
from tests.search.test_crash_safety import trials_of

CLUSTER = Path(__file__).resolve().parents[2] / "examples" / "cluster"

SPEC = """\
name: cluster
data: {source: builtin:iris}
model: {family: mlp, hidden: {int: [8, 32]}}
train: {epochs: 1, batch_size: 16}
search: {trials: 4, sampler: random, pruner: none, objectives: ["val.accuracy:max"]}
"""


def job() -> dict:
    (found,) = list(yaml.safe_load_all((CLUSTER / "k8s-workers.yaml").read_text()))
    return found


def pod_script() -> str:
    (container,) = job()["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["bash", "-c"]
    return container["args"][0]


def test_the_kubernetes_job_is_indexed_and_keeps_secrets_out_of_the_url():
    spec = job()["spec"]
    assert job()["kind"] == "Job" and spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] >= 2
    (container,) = spec["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert "secretKeyRef" in env["PGPASSWORD"]["valueFrom"]
    assert ":" not in env["HONED_STORAGE"]["value"].split("@")[0].split("//")[1]  # no password
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1


@pytest.fixture
def launched(tmp_path):
    """Start shell scripts as processes; every one still alive is killed at teardown."""
    procs: list[subprocess.Popen] = []

    def start(argv: list[str], env: dict[str, str], name: str) -> subprocess.Popen:
        with open(tmp_path / f"{name}.log", "wb") as log:
            procs.append(subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, cwd=tmp_path,
                                          start_new_session=True))
        return procs[-1]

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait(proc: subprocess.Popen, log: Path, timeout: float = 300) -> str:
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{log.name} did not finish: {log.read_text()[-2000:]}")
    text = log.read_text(errors="replace")
    assert code == 0, text[-2000:]
    return text


def test_slurm_task_0_and_kubernetes_pod_1_finish_one_study(tmp_path, postgres_url, launched):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    bin_dir = tmp_path / "bin"  # `honed` as the scripts call it, from this checkout
    bin_dir.mkdir()
    (bin_dir / "honed").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m honed.cli.main "$@"\n')
    (bin_dir / "honed").chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "OMP_NUM_THREADS": "1",
           "HONED_STORAGE": postgres_url, "HONED_OUT": str(tmp_path / "runs"),
           "HONED_SPEC": str(spec)}
    pod = launched(["bash", "-c", pod_script()], {**env, "JOB_COMPLETION_INDEX": "1"}, "pod1")
    task = launched(["bash", str(CLUSTER / "slurm_workers.sh"), str(spec)],
                    {**env, "SLURM_ARRAY_TASK_ID": "0", "SLURM_CPUS_PER_TASK": "1"}, "task0")
    wait(task, tmp_path / "task0.log")
    said = wait(pod, tmp_path / "pod1.log")
    assert "joined study cluster" in said
    counted = counted_trials(trials_of(postgres_url, "cluster"))
    assert len(counted) == 4 and all(t.state == TrialState.COMPLETE for t in counted)
    results = tmp_path / "runs" / "tune" / "study"
    assert (results / "best.json").is_file() and (results / "trials.csv").is_file()


def test_the_slurm_script_needs_its_storage_and_task(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("HONED_STORAGE",
                                                           "SLURM_ARRAY_TASK_ID")}
    done = subprocess.run(["bash", str(CLUSTER / "slurm_workers.sh"), "spec.yaml"], env=env,
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode != 0 and "HONED_STORAGE" in done.stderr
    done = subprocess.run(["bash", str(CLUSTER / "slurm_workers.sh"), "spec.yaml"],
                          env={**env, "HONED_STORAGE": "postgresql://x@db/y"},
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode != 0 and "SLURM_ARRAY_TASK_ID" in done.stderr
    assert not list(tmp_path.iterdir())
