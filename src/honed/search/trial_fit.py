"""How one trial trains: on its worker's device, or with DDP over its group of GPUs.

Every trial's fit goes through :func:`fit_trial`, the one place where
``search.gpus_per_trial`` changes how a trial trains. A worker with a group of K > 1 GPUs
(``CUDA_VISIBLE_DEVICES`` set by :mod:`honed.search.placement`, or by Slurm or Kubernetes)
that trains on CUDA runs each trial as K DDP processes (NCCL), one per GPU of the group
(:func:`honed.train.group_fit.fit_in_group`): the worker itself is rank 0 on ``cuda:0``, so
the trial's callbacks (its pruner's reports, history, best-epoch keeper, probes) run in it as
in a one-GPU trial, and K-1 processes spawned for the trial rebuild its resolved spec's data
and model and train as ranks 1..K-1 on ``cuda:1`` .. ``cuda:K-1``. A pruned trial stops every
rank; a rank that dies fails the trial (``TrialFailed``, one line naming the rank), never
hangs it. With fewer GPUs visible than K the trial trains in one process on the first GPU
and the worker says so once in its log; without CUDA, ``gpus_per_trial`` changes nothing.
"""

from __future__ import annotations

import sys

import torch

from honed.errors import DistributedError, UserInputError
from honed.spec.schema import Spec
from honed.train.fit import fit
from honed.train.precision import pick_device
from honed.train.trainer import FitResult

__all__ = ["fit_trial", "trial_ranks", "ranks_for"]

_told = False


def ranks_for(gpus: int, cuda_devices: int, device_type: str) -> int:
    """DDP processes of a trial of ``gpus`` GPUs: ``gpus`` when it trains on CUDA and sees
    that many devices, else 1.

    Example:
        >>> ranks_for(2, cuda_devices=2, device_type="cuda"), ranks_for(2, 1, "cuda")
        (2, 1)
    """
    return gpus if gpus > 1 and device_type == "cuda" and cuda_devices >= gpus else 1


def trial_ranks(gpus: int, device: str) -> int:
    """:func:`ranks_for` on this process's CUDA devices, for ``train.device`` ``device``."""
    if gpus <= 1:
        return 1
    cuda = torch.cuda.device_count() if torch.cuda.is_available() else 0
    chosen = pick_device(device).type
    ranks = ranks_for(gpus, cuda, chosen)
    if ranks == 1 and chosen == "cuda":
        _tell_once(f"search.gpus_per_trial is {gpus} but this worker sees {cuda} GPU(s): each "
                   "trial trains in one process on the first GPU")
    return ranks


def fit_trial(model: torch.nn.Module, data, *, spec: Spec, gpus: int = 1,
              folds: int | None = None, fold: int = 0, **options) -> FitResult:
    """``honed.train.fit(model, data, **options)`` for a trial of ``gpus`` GPUs.

    Args:
        model: the trial's model (``build_model(spec, data)``).
        data: its prepared data: the spec's, or fold ``fold`` of ``folds`` (``search.cv``).
        spec: the trial's resolved spec, from which the other ranks rebuild data and model.
        gpus: ``search.gpus_per_trial``; more than 1 with as many CUDA devices visible means
            a DDP fit over them (:func:`trial_ranks`). Otherwise the fit is the usual one.
        options: the keyword arguments of :func:`honed.train.fit`.

    Raises:
        TrialFailed: a rank died, or the point cannot be split over the GPUs (batch size).
    """
    ranks = trial_ranks(gpus, spec.train.device)
    if ranks == 1:
        return fit(model, data, **options)
    from honed.search.objective import TrialFailed
    from honed.train.group_fit import SpecData, fit_in_group

    try:
        return fit_in_group(model, data, nproc=ranks, source=SpecData.of(spec, folds=folds,
                                                                         fold=fold), **options)
    except (UserInputError, DistributedError) as exc:
        raise TrialFailed(f"DDP over {ranks} GPUs: {exc}") from None


def _tell_once(text: str) -> None:
    global _told
    if not _told:
        _told = True
        print(text, file=sys.stderr, flush=True)
