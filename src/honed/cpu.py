"""The cores a process may use, and how many processes of this machine share them.

A launcher that starts several training processes on one machine (``honed tune --workers N``,
``honed train --nproc K``, a trial's group of ``search.gpus_per_trial`` ranks) gives each the
count through ``$HONED_LOCAL_PROCESSES`` (:func:`sharing_env`); whatever a process sizes by
the cores (``train.threads`` through :mod:`honed.train.threads`, ``data.workers`` through
:mod:`honed.data.loader_workers`) takes its :func:`core_share` of :func:`usable_cores`.
Launchers nest: a search worker of N that starts a group of K ranks tells them N x K. Ranks
that torchrun started count its ``$LOCAL_WORLD_SIZE``.
"""

from __future__ import annotations

import os

from honed.cgroups import cpu_quota

__all__ = ["PROCESSES_VARIABLE", "usable_cores", "local_processes", "sharing_env", "core_share"]

#: processes of this machine that train at once, as the launcher of this one counted them
PROCESSES_VARIABLE = "HONED_LOCAL_PROCESSES"


def usable_cores() -> int:
    """Cores this process may run on: its CPU set (not the host's count), and no more than
    its control groups' CPU quota allows, rounded down, at least 1 (a container started with
    ``--cpus 2``, or a pod with ``limits.cpu: 2``, sees every core of its host but gets 2)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1
    quota = cpu_quota()
    return cores if quota is None else max(1, min(cores, int(quota)))


def local_processes() -> int:
    """Processes of this machine training at once with this one: what honed's launcher said,
    else torchrun's ``$LOCAL_WORLD_SIZE`` (its ranks on this node), else 1."""
    for name in (PROCESSES_VARIABLE, "LOCAL_WORLD_SIZE"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) >= 1:
            return int(value)
    return 1


def sharing_env(processes: int) -> dict[str, str]:
    """The environment entry for each of ``processes`` processes that this one starts.

    Example:
        >>> sharing_env(2)  # in a search worker that its coordinator told 3
        {'HONED_LOCAL_PROCESSES': '6'}
    """
    return {PROCESSES_VARIABLE: str(max(1, processes) * local_processes())}


def core_share(cores: int, processes: int) -> int:
    """Whole cores each of ``processes`` processes gets out of ``cores`` (0 when too few).

    Example:
        >>> core_share(8, 3), core_share(2, 4)
        (2, 0)
    """
    return max(0, cores) // max(1, processes)
