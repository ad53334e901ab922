"""How many torch threads a fit uses: ``train.threads`` (a number, ``auto`` or ``all``).

On a shared machine every core is rarely free. OpenMP threads wait for each other at every
barrier, so one thread descheduled by another process stalls all of them: on a 2-core machine
at load 2, the default of one thread per core trained digits 3x slower than one thread, and a
49k-row table 20x slower at load 12. ``auto`` (the default) therefore takes the cores this
process may run on, less the load that other processes put on them, divided among the search
workers that share them (:mod:`honed.cpu`, which ``data.workers: auto`` shares too). It is
chosen once per process (and worker count): a later fit would
otherwise read the load that our own training has just added.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from honed.cpu import core_share, usable_cores  # usable_cores re-exported: callers use it here

__all__ = ["ThreadChoice", "choose_threads", "pick_threads", "usable_cores", "other_load"]

Requested = int | Literal["auto", "all"] | None

_CHOSEN: dict[tuple[Requested, int], ThreadChoice] = {}


@dataclass(frozen=True)
class ThreadChoice:
    """A thread count and why it was chosen.

    Attributes:
        threads: torch intra-op threads.
        reason: what decided it, e.g. ``auto: 2 cores, load 1.8``.
    """

    threads: int
    reason: str

    def describe(self) -> str:
        """``threads 1 (auto: 2 cores, load 1.8)``, the line run headers print."""
        return f"threads {self.threads} ({self.reason})"

    def record(self) -> dict[str, int | str]:
        """The entries a run's ``metrics.json`` keeps beside its device."""
        return {"threads": self.threads, "threads_chosen": self.reason}


def choose_threads(requested: Requested, *, cores: int, load: float | None, workers: int = 1,
                   env_threads: str | None = None) -> ThreadChoice:
    """The thread count for ``requested`` on a machine described by the arguments (pure).

    Args:
        requested: ``train.threads``: a number (kept as given), ``all`` (every usable core;
            None means the same, as before ``auto`` existed) or ``auto``.
        cores: cores this process may run on.
        load: the 1-minute load average of the other processes (None: unknown, taken as 0).
        workers: processes sharing these cores (search workers); each gets its share.
        env_threads: ``$OMP_NUM_THREADS``; ``auto`` keeps a valid one (what a cluster job or
            ``honed tune`` set for this process).

    Example:
        >>> choose_threads("auto", cores=2, load=1.8).describe()
        'threads 1 (auto: 2 cores, load 1.8)'
    """
    workers = max(1, workers)
    per = "" if workers == 1 else f", {workers} workers"
    if isinstance(requested, int) and not isinstance(requested, bool):
        return ThreadChoice(requested, "train.threads")
    if requested in (None, "all"):
        return ThreadChoice(max(1, core_share(cores, workers)), f"all: {cores} cores{per}")
    if env_threads and env_threads.strip().isdigit() and int(env_threads) >= 1:
        given = int(env_threads)
        return ThreadChoice(max(1, given // workers), f"auto: OMP_NUM_THREADS={given}{per}")
    busy = max(0.0, load or 0.0)
    free = max(1.0, cores - busy) / workers
    threads = max(1, min(core_share(cores, workers), round(free)))
    known = "load unknown" if load is None else f"load {busy:.1f}"
    return ThreadChoice(threads, f"auto: {cores} cores, {known}{per}")


def pick_threads(requested: Requested = "auto", *, workers: int = 1,
                 refresh: bool = False) -> ThreadChoice:
    """:func:`choose_threads` on this machine; ``auto`` and ``all`` once per process.

    ``refresh=True`` looks at the machine again (a long-lived process starting a new run, such
    as a notebook calling ``honed.Model.fit``); later calls get the new choice.

    Example:
        >>> pick_threads("auto").describe()  # on a busy 2-core machine
        'threads 1 (auto: 2 cores, load 1.8)'
    """
    if isinstance(requested, int):
        return choose_threads(requested, cores=1, load=None)
    key = (requested, workers)
    if refresh or key not in _CHOSEN:
        _CHOSEN[key] = choose_threads(requested, cores=usable_cores(), load=other_load(),
                                      workers=workers,
                                      env_threads=os.environ.get("OMP_NUM_THREADS"))
    return _CHOSEN[key]


def other_load() -> float | None:
    """The 1-minute load average less this process's own share; None where there is none."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return None
    return max(0.0, load - _own_load())


def _own_load() -> float:
    """This process's CPU seconds per second, over its life or the last minute if younger.

    The load average counts our own running threads too; a process that has just started
    (the usual case: threads are chosen before training) adds almost nothing, one that has
    trained for a while adds what it has been using.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as uptime:
            now = float(uptime.read().split()[0])
        age = now - int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time
    except (OSError, IndexError, ValueError):
        return 0.0
    times = os.times()
    return (times.user + times.system) / max(age, 60.0)
