"""data.workers: auto takes this process's share of its usable cores (the affinity mask), with
the processes of this machine that train at once (search workers, DDP ranks, trial groups)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from honed.cpu import PROCESSES_VARIABLE, core_share, local_processes, sharing_env
from honed.data.loader_workers import WorkerChoice, choose_workers, pick_workers, tell_once
from honed.data.streaming import LazyInputs
from honed.train.feed import LoaderFeed


@pytest.mark.parametrize(("cores", "processes", "workers"), [
    (1, 1, 0),    # one core: batches in the training process
    (2, 1, 1),    # one less than the cores
    (64, 1, 4),   # at most 4
    (8, 2, 3),    # each of two processes: 4 cores, one of them its own
    (16, 3, 4),   # 5 cores each, still at most 4
    (4, 2, 1),
    (2, 2, 0),    # one core each: no loader process
    (2, 4, 0),    # more processes than cores
    (3, 2, 0),
    (0, 1, 0),    # never negative
])
def test_auto_shares_the_cores_among_the_processes(cores, processes, workers):
    assert choose_workers("auto", cores=cores, processes=processes).workers == workers


def test_a_number_is_kept_and_the_choice_says_why():
    assert choose_workers(3, cores=1, processes=8) == WorkerChoice(3, "data.workers")
    assert choose_workers(0, cores=64) == WorkerChoice(0, "data.workers")
    choice = choose_workers("auto", cores=8, processes=2)
    assert choice.describe() == "data.workers 3 (auto: 8 cores, 2 processes)"
    assert choice.record() == {"data_workers": 3, "data_workers_chosen": "auto: 8 cores, 2 processes"}
    assert choose_workers("auto", cores=2).describe() == "data.workers 1 (auto: 2 cores)"


def test_launchers_tell_their_processes_the_count_and_nest(monkeypatch):
    monkeypatch.delenv(PROCESSES_VARIABLE, raising=False)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # a rank that torchrun started
    assert local_processes() == 4
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    assert local_processes() == 1 and sharing_env(3) == {PROCESSES_VARIABLE: "3"}
    monkeypatch.setenv(PROCESSES_VARIABLE, "3")  # a search worker of 3 that starts 2 ranks
    assert local_processes() == 3 and sharing_env(2) == {PROCESSES_VARIABLE: "6"}
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # honed's count comes first
    assert local_processes() == 3
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    for bad in ("", "0", "-2", "x", "1.5"):
        monkeypatch.setenv(PROCESSES_VARIABLE, bad)
        assert local_processes() == 1
    assert core_share(8, 3) == 2 and core_share(2, 4) == 0 and core_share(5, 0) == 5


def _pick_in_child(cores: set[int], processes: str) -> str:
    """pick_workers("auto") in a process pinned to ``cores`` (a real affinity mask)."""
    code = ("import os; from honed.data.loader_workers import pick_workers; "
            "print(len(os.sched_getaffinity(0)), os.cpu_count(), pick_workers('auto').describe())")
    env = {**os.environ, PROCESSES_VARIABLE: processes}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          preexec_fn=lambda: os.sched_setaffinity(0, cores), check=True)
    return done.stdout.strip()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no affinity masks here")
def test_auto_follows_the_affinity_mask_not_the_machine():
    allowed = sorted(os.sched_getaffinity(0))
    one = _pick_in_child({allowed[0]}, "1")
    assert one.endswith("data.workers 0 (auto: 1 cores)"), one
    if len(allowed) >= 2:  # two cores, shared by two processes: nothing left for a loader
        two = _pick_in_child(set(allowed[:2]), "2")
        assert two.endswith("data.workers 0 (auto: 2 cores, 2 processes)"), two
        alone = _pick_in_child(set(allowed[:2]), "1")
        assert alone.endswith("data.workers 1 (auto: 2 cores)"), alone


def test_the_loader_resolves_auto_in_the_training_process(monkeypatch):
    x = LazyInputs(np.zeros((6, 2, 3, 3), dtype=np.float32), np.arange(6),
                   {"input_shape": [2, 3, 3]}, workers="auto")
    assert x.workers == "auto"  # data prepared by a launcher keeps the setting
    for processes in (1, 2, 64):
        monkeypatch.setenv(PROCESSES_VARIABLE, str(processes))
        feed = LoaderFeed(x, device=torch.device("cpu"))
        assert feed.choice == pick_workers("auto")
        assert feed.workers == choose_workers("auto", cores=len(os.sched_getaffinity(0)),
                                              processes=processes).workers
    assert LoaderFeed(LazyInputs(x.source, x.rows, x.preprocess, workers=2),
                      device=torch.device("cpu")).workers == 2


def test_the_choice_is_said_once_per_process_and_rank(capsys):
    choice = WorkerChoice(0, "auto: 2 cores, 2 processes, test")
    tell_once(choice)
    tell_once(choice)
    tell_once(choice, "rank 1/2")
    assert capsys.readouterr().err.splitlines() == [
        "data.workers 0 (auto: 2 cores, 2 processes, test)",
        "rank 1/2: data.workers 0 (auto: 2 cores, 2 processes, test)"]
