"""Where trials run: the host, process and GPUs of each worker.

Every trial records, when it starts, the user attributes ``worker`` (``HOST:PID``), ``host``,
``gpus`` (the worker's ``CUDA_VISIBLE_DEVICES``, or None when it had none set) and ``device``
(what ``train.device`` resolved to there). The progress display names the host and GPUs of
each running trial, worker logs name their host, and ``honed study show`` lists the workers.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Sequence

from optuna.trial import FrozenTrial, TrialState
from rich.markup import escape
from rich.table import Table

from honed.search.placement import VISIBLE_VARIABLE

__all__ = ["where_attrs", "worker_label", "running_where", "workers_table"]


def where_attrs(device: str) -> dict[str, str | int | None]:
    """The user attributes a trial records about the worker running it on ``device``."""
    host = socket.gethostname()
    return {"worker": f"{host}:{os.getpid()}", "host": host,
            "gpus": os.environ.get(VISIBLE_VARIABLE), "device": device}


def worker_label(index: int | None = None) -> str:
    """``worker 3 on node7 (pid 4121, GPUs 0,1)``: how a worker names itself in its log."""
    gpus = os.environ.get(VISIBLE_VARIABLE)
    name = "worker" if index is None else f"worker {index}"
    return (f"{name} on {socket.gethostname()} (pid {os.getpid()}"
            f"{f', {_gpus(gpus)}' if gpus else ''})")


def _place(trial: FrozenTrial, *, host: bool) -> str:
    attrs = trial.user_attrs
    parts = [str(attrs["host"])] if host and attrs.get("host") else []
    if attrs.get("gpus"):
        parts.append(_gpus(str(attrs["gpus"])))
    return " ".join(parts)


def running_where(trial: FrozenTrial, trials: Sequence[FrozenTrial]) -> str:
    """`` on node7 GPU 1`` for a running trial: its host when the study ran on several hosts,
    its GPUs when it has some; empty on one host without GPUs."""
    hosts = {t.user_attrs.get("host") for t in trials if t.user_attrs.get("host")}
    place = _place(trial, host=len(hosts) > 1)
    return f" on {place}" if place else ""


def _device(trial: FrozenTrial) -> str:
    device = str(trial.user_attrs.get("device") or "?")
    gpus = trial.user_attrs.get("gpus")
    return f"{device}, {_gpus(str(gpus))}" if gpus else device


def _gpus(listed: str) -> str:
    return f"GPU{'s' if ',' in listed else ''} {listed}"


def workers_table(trials: Sequence[FrozenTrial]) -> Table | None:
    """One row per worker: host, device and GPUs, pid, its trials by state, its last trial.

    None when one worker without GPUs ran every trial (nothing worth a table).
    """
    by_worker: dict[str, list[FrozenTrial]] = {}
    for trial in trials:
        worker = trial.user_attrs.get("worker")
        # a queued retry still carries the attributes of the worker that died running it
        if worker and trial.state != TrialState.WAITING:
            by_worker.setdefault(str(worker), []).append(trial)
    gpus = any(t.user_attrs.get("gpus") for t in trials)
    if not by_worker or (len(by_worker) == 1 and not gpus):
        return None
    hosts = {w.rsplit(":", 1)[0] for w in by_worker}
    table = Table(title=f"workers ({len(by_worker)} on {len(hosts)} "
                        f"host{'s' if len(hosts) > 1 else ''})")
    for column in ("host", "device"):
        table.add_column(column, no_wrap=True)
    for column in ("pid", "complete", "pruned", "failed", "running", "last trial"):
        table.add_column(column, justify="right")
    order = sorted(by_worker.items(), key=lambda item: min(t.number for t in item[1]))
    for worker, mine in order:
        host, _, pid = worker.rpartition(":")
        states = Counter(t.state for t in mine)
        last = max(mine, key=lambda t: t.number)
        table.add_row(escape(host), escape(_device(last)), pid,
                      *(str(states[s]) for s in (TrialState.COMPLETE, TrialState.PRUNED,
                                                  TrialState.FAIL, TrialState.RUNNING)),
                      str(last.number))
    return table
