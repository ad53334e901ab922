"""How many DataLoader worker processes a streamed split uses: ``data.workers`` (a number or
``auto``).

``auto`` takes this process's share of the cores it may run on (its CPU affinity mask, as
``train.threads`` does): the cores divided among the processes of this machine that train at
once (:mod:`honed.cpu`: search workers, DDP ranks, a trial's group of ranks), less one for the
training process itself, at most :data:`MAX_AUTO`. A share of one core or less gives 0: batches
are then computed in the training process, which oversubscribes nothing. It is chosen where
the loader starts, in the process that trains (never in a launcher, which only prepares data
to check it), and said once per process on stderr.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from honed.cpu import core_share, local_processes, usable_cores

__all__ = ["WorkerChoice", "choose_workers", "pick_workers", "tell_once", "MAX_AUTO"]

#: ``data.workers: auto`` never starts more loader processes than this per training process
MAX_AUTO = 4

_TOLD: set[tuple[str, WorkerChoice]] = set()


@dataclass(frozen=True)
class WorkerChoice:
    """A DataLoader worker count and why it was chosen.

    Attributes:
        workers: DataLoader worker processes (0: batches computed in the training process).
        reason: what decided it, e.g. ``auto: 2 cores, 2 processes``.
    """

    workers: int
    reason: str

    def describe(self) -> str:
        """``data.workers 0 (auto: 2 cores, 2 processes)``, the line a training process logs."""
        return f"data.workers {self.workers} ({self.reason})"

    def record(self) -> dict[str, int | str]:
        """The entries a run's ``metrics.json`` (and a trial's attributes) keep."""
        return {"data_workers": self.workers, "data_workers_chosen": self.reason}


def choose_workers(setting: int | str, *, cores: int, processes: int = 1) -> WorkerChoice:
    """The worker count for ``data.workers`` ``setting`` (pure).

    Args:
        setting: ``data.workers``: a number (kept as given) or ``auto``.
        cores: cores this process may run on.
        processes: processes of this machine that train at once, this one included.

    Example:
        >>> choose_workers("auto", cores=8, processes=2).describe()
        'data.workers 3 (auto: 8 cores, 2 processes)'
    """
    if setting != "auto":
        return WorkerChoice(int(setting), "data.workers")
    processes = max(1, processes)
    per = "" if processes == 1 else f", {processes} processes"
    workers = max(0, min(MAX_AUTO, core_share(cores, processes) - 1))
    return WorkerChoice(workers, f"auto: {cores} cores{per}")


def pick_workers(setting: int | str = "auto") -> WorkerChoice:
    """:func:`choose_workers` for this process: its usable cores, and the processes its
    launcher said share them (``$HONED_LOCAL_PROCESSES``)."""
    return choose_workers(setting, cores=usable_cores(), processes=local_processes())


def tell_once(choice: WorkerChoice, tag: str | None = None) -> None:
    """Say ``choice`` on stderr, once per process (and tag): ``rank 1/2: data.workers ...``."""
    key = (tag or "", choice)
    if key in _TOLD:
        return
    _TOLD.add(key)
    print(f"{tag}: {choice.describe()}" if tag else choice.describe(), file=sys.stderr,
          flush=True)
