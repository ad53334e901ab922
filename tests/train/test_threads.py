"""train.threads: auto picks from the free cores; the run's header and metrics.json name it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from honed.train.threads import ThreadChoice, choose_threads


@pytest.mark.parametrize(("cores", "load", "workers", "threads"), [
    (2, 1.8, 1, 1),    # the shared 2-core machine of the issue: one thread
    (2, 12.0, 1, 1),   # never fewer than one
    (2, 0.1, 1, 2),    # an idle machine keeps every core
    (16, 3.9, 1, 12),  # what the others leave
    (16, 0.0, 4, 4),   # shared among search workers
    (8, 2.0, 2, 3),
    (2, 0.0, 4, 1),
])
def test_auto_takes_the_free_cores_shared_among_workers(cores, load, workers, threads):
    choice = choose_threads("auto", cores=cores, load=load, workers=workers)
    assert choice.threads == threads


def test_the_choice_says_why():
    assert choose_threads("auto", cores=2, load=1.8).describe() == (
        "threads 1 (auto: 2 cores, load 1.8)")
    assert choose_threads("auto", cores=8, load=0.0, workers=2).reason == (
        "auto: 8 cores, load 0.0, 2 workers")
    assert choose_threads("auto", cores=4, load=None).describe() == (
        "threads 4 (auto: 4 cores, load unknown)")
    assert choose_threads(3, cores=2, load=9.0) == ThreadChoice(3, "train.threads")
    assert choose_threads("all", cores=6, load=9.0, workers=2) == ThreadChoice(
        3, "all: 6 cores, 2 workers")
    assert choose_threads(None, cores=6, load=9.0).threads == 6


def test_auto_keeps_a_valid_omp_num_threads():
    assert choose_threads("auto", cores=8, load=0.0, env_threads="2") == ThreadChoice(
        2, "auto: OMP_NUM_THREADS=2")
    assert choose_threads("auto", cores=8, load=0.0, workers=2, env_threads="8") == (
        ThreadChoice(4, "auto: OMP_NUM_THREADS=8, 2 workers"))
    for bad in ("", "0", "x", "-1"):
        assert choose_threads("auto", cores=8, load=0.0, env_threads=bad).threads == 8


def test_the_spec_takes_auto_all_or_a_number():
    from honed.errors import SpecError
    from honed.train.fit import make_train_spec

    assert make_train_spec().threads == "auto"
    assert make_train_spec(threads="all").threads == "all"
    assert make_train_spec(threads=2).threads == 2
    with pytest.raises(SpecError, match="train.threads"):
        make_train_spec(threads="many")


def test_the_run_header_and_metrics_name_the_choice(tmp_path):
    spec = tmp_path / "iris.yaml"
    spec.write_text("name: iris\ndata: {source: 'builtin:iris'}\n"
                    "model: {family: mlp, hidden: 8}\ntrain: {epochs: 1}\n")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    proc = subprocess.run([sys.executable, "-m", "honed.cli.main", "train", str(spec),
                           "--out", str(tmp_path / "run")], capture_output=True, text=True,
                          env={**env, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["threads_chosen"].startswith("auto: ")
    assert f"device cpu, fp32, threads {metrics['threads']} ({metrics['threads_chosen']})" in (
        proc.stderr)
