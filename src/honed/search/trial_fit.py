"""How one trial trains: on its worker's device, or with DDP over its group of GPUs.

Every trial's fit goes through :func:`fit_trial`, the one place where
``search.gpus_per_trial`` changes how a trial trains. A worker with a group of K > 1 GPUs
(``CUDA_VISIBLE_DEVICES`` set by :mod:`honed.search.placement`, or by Slurm or Kubernetes)
is to run each trial as K DDP processes, one per GPU of the group.

Until the DDP fit (``honed.train.distributed``) is wired here, such a trial trains in one
process on the group's first GPU and the worker says so once in its log.
"""

from __future__ import annotations

import sys

import torch

from honed.train.fit import fit
from honed.train.trainer import FitResult

__all__ = ["fit_trial"]

_told = False


def fit_trial(model: torch.nn.Module, data, *, gpus: int = 1, **options) -> FitResult:
    """``honed.train.fit(model, data, **options)`` for a trial of ``gpus`` GPUs.

    Args:
        model: the trial's model.
        data: its prepared data.
        gpus: ``search.gpus_per_trial``; more than 1 with as many CUDA devices visible means
            a DDP fit over them. Without a GPU (or with fewer) the fit is the usual one.
        options: the keyword arguments of :func:`honed.train.fit`.
    """
    if gpus > 1 and torch.cuda.is_available() and torch.cuda.device_count() >= gpus:
        # the call site of the K-process DDP fit: honed.train.distributed's fit over the
        # cuda:0 .. cuda:K-1 this worker sees, returning a FitResult like fit()'s
        _tell_once(f"search.gpus_per_trial is {gpus}: DDP over a trial's GPUs is not wired "
                   "yet, so each trial trains on the first GPU of its group")
    return fit(model, data, **options)


def _tell_once(text: str) -> None:
    global _told
    if not _told:
        _told = True
        print(text, file=sys.stderr, flush=True)
