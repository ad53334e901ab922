"""Which GPUs each search worker on this machine sees: a group of ``search.gpus_per_trial``.

``honed tune --workers N`` on a machine with G visible GPUs cuts them into ``G // K`` groups
of K (``search.gpus_per_trial``) and gives worker i the group ``i mod (G // K)`` through
``CUDA_VISIBLE_DEVICES``: one GPU per worker when ``N <= G``, round-robin when there are more
workers than groups (they then share a GPU). GPUs left over when K does not divide G stay idle.
Inside a worker its group is ``cuda:0 .. cuda:K-1``, so a trial's ``train.device: auto`` lands
on its own GPU.

On a machine without a GPU nothing changes: no ``CUDA_VISIBLE_DEVICES`` is set, and
``gpus_per_trial`` is not checked, so a spec written for a GPU cluster can be tried on a
laptop (``train.device: cuda`` still refuses to run there). With GPUs, asking for more per
trial than there are is an error.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from honed.errors import UserInputError

__all__ = ["gpu_groups", "place_workers", "visible_gpus", "check_gpus_per_trial",
           "VISIBLE_VARIABLE"]

VISIBLE_VARIABLE = "CUDA_VISIBLE_DEVICES"


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` names them for children.

    The names are what this process's own ``CUDA_VISIBLE_DEVICES`` lists (indices or UUIDs;
    Slurm and Kubernetes set it), else the indices ``0 .. count-1``. An empty list on a
    machine without CUDA (the CPU build of torch included).
    """
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        return []
    listed = os.environ.get(VISIBLE_VARIABLE)
    if listed is None:
        return [str(i) for i in range(count)]
    names = [name.strip() for name in listed.split(",") if name.strip()]
    return names[:count]


def gpu_groups(gpus: Sequence[str], per_trial: int) -> list[list[str]]:
    """``gpus`` cut into consecutive groups of ``per_trial``; the remainder is left out."""
    if per_trial < 1:
        raise ValueError(f"per_trial must be at least 1; got {per_trial}")
    whole = len(gpus) // per_trial
    return [list(gpus[g * per_trial:(g + 1) * per_trial]) for g in range(whole)]


def check_gpus_per_trial(per_trial: int, gpus: Sequence[str]) -> None:
    """One line naming the setting when the GPUs seen here cannot hold one trial's group."""
    if gpus and per_trial > len(gpus):
        seen = f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''} ({','.join(gpus)})"
        raise UserInputError(f"search.gpus_per_trial is {per_trial} but this process sees "
                             f"only {seen}; set search.gpus_per_trial to at most {len(gpus)}")


def place_workers(workers: int, gpus: Sequence[str], per_trial: int = 1) -> list[str | None]:
    """The ``CUDA_VISIBLE_DEVICES`` value of each of ``workers`` local workers.

    None for every worker when ``gpus`` is empty (nothing to place: the variable is left as
    it is). Example: 3 workers on ``["0", "1"]`` with 1 GPU per trial get ``0``, ``1``, ``0``;
    2 workers on 4 GPUs with 2 per trial get ``0,1`` and ``2,3``.
    """
    if not gpus:
        return [None] * workers
    check_gpus_per_trial(per_trial, gpus)
    groups = gpu_groups(gpus, per_trial)
    return [",".join(groups[i % len(groups)]) for i in range(workers)]
