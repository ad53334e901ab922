"""``fit_in_group``: one fit run as K DDP ranks, where the calling process is rank 0.

A search worker whose trial has K GPUs calls it (see :mod:`honed.search.trial_fit`): the
worker joins a fresh process group as rank 0 and trains the model it built, with its own
callbacks (the trial's reporter, history, best-epoch keeper, probes), and the returned
:class:`~honed.train.trainer.FitResult` is that of rank 0, its trainer included. K-1 spawned
children are ranks 1..K-1: each gets the spec (never a pickled model or data), rebuilds the
data (:class:`SpecData`) and the model from it, and trains with no callbacks of its own but
those the spec's ``train`` section makes. DDP gives every rank rank 0's initial weights.

Every epoch ends with rank 0's stop decision broadcast
(:class:`~honed.train.distributed.DistributedTrainer`), so a pruner or a budget stopping the
fit on rank 0 stops all ranks. An exception on rank 0 (``optuna.TrialPruned``, an error) ends
the group and the children are stopped. A child that dies ends the fit with one line naming
it; the collectives fail at once when its socket closes (gloo), or a watcher aborts the group
(NCCL), and ``$HONED_DDP_TIMEOUT`` bounds any wait. Devices: ``train.device`` of the spec,
``cuda:r`` for rank r (NCCL), or the CPU (gloo).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from honed.cpu import sharing_env
from honed.data import make_augment, prepare_data, prepare_folds
from honed.data.dataset import PreparedData
from honed.errors import DistributedError, UserInputError
from honed.spec.memory import is_memory_source, memory_data, memory_source
from honed.spec.schema import Spec
from honed.train.distributed import (
    _first_line,
    _is_comm_error,
    check_world,
    default_timeout,
    has_batch_norm,
    process_group,
)
from honed.train.fit import fit
from honed.train.launch import _free_port, _rank_failed, exit_rank, run_rank
from honed.train.precision import pick_device
from honed.train.session import build_model, transfer_options
from honed.train.trainer import FitResult

__all__ = ["fit_in_group", "SpecData"]

#: keywords of ``fit`` for rank 0 alone: the others rebuild augmentation and transfer options
#: from the spec, and run no callbacks but those the spec's ``train`` section makes
_RANK0_ONLY = ("callbacks", "augment", "unfreeze_after", "backbone", "progress")


@dataclass(frozen=True)
class SpecData:
    """How a rank rebuilds the data the caller trains on: the spec's data, or one of its folds.

    A ``memory:`` source (data handed in from Python) travels with it, as the child process
    does not hold it.
    """

    spec: Spec
    folds: int | None = None  # k of ``search.cv``
    fold: int = 0
    memory: Any = None

    @classmethod
    def of(cls, spec: Spec, *, folds: int | None = None, fold: int = 0) -> SpecData:
        source = spec.data.source
        held = memory_data(source) if is_memory_source(source) else None
        return cls(spec, folds, fold, held)

    def __call__(self) -> PreparedData:
        if self.memory is not None:
            memory_source(self.memory)  # the same contents give the same key
        data, seed = self.spec.data, self.spec.seed
        if self.folds:
            return prepare_folds(data, seed=seed, k=self.folds)[self.fold]
        return prepare_data(data, seed=seed)


def fit_in_group(model: torch.nn.Module, data: PreparedData, *, nproc: int, source: SpecData,
                 timeout: float | None = None, **options: Any) -> FitResult:
    """``honed.train.fit(model, data, **options)`` as rank 0 of ``nproc`` DDP processes.

    Args:
        model: rank 0's model, built from ``source.spec`` (``build_model``).
        data: rank 0's data, what ``source()`` gives.
        nproc: ranks in all; ``nproc - 1`` children are spawned for this fit.
        source: the spec and how the children rebuild ``data``.
        timeout: seconds a rank waits for a silent peer (``$HONED_DDP_TIMEOUT`` or 600).
        options: keywords of :func:`honed.train.fit` for rank 0 (``train``, ``seed``,
            ``augment``, ``callbacks``, ...); the children get them all but the callbacks
            and rebuild the augmentation (which must be the spec's) and transfer options
            from the spec.

    Raises:
        UserInputError: the world does not fit the data (before any process starts).
        DistributedError: a child died or the group broke; one line naming the rank.
    """
    spec, timeout = source.spec, timeout or default_timeout()
    cuda = pick_device(spec.train.device).type == "cuda"
    check_world(nproc, rows=len(data.train.y), batch_size=spec.train.batch_size,
                unfreeze_after=options.get("unfreeze_after"),
                local_norm=not cuda and has_batch_norm(model))
    # rank 0 (this process, for the fit) and each child share this machine's cores
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), **sharing_env(nproc)}
    child = {key: value for key, value in options.items() if key not in _RANK0_ONLY}
    spawn = multiprocessing.get_context("spawn")
    children = [spawn.Process(target=_child, args=(rank, nproc, spec, source, child, env, timeout),
                              name=f"honed-rank{rank}") for rank in range(1, nproc)]
    for process in children:
        process.start()
    dead: list = []  # the first child that exited with an error, as the watcher saw it
    try:
        with _environ(env), _watch(children, dead), process_group(
                spec.train.device, rank=0, world_size=nproc, local_rank=0,
                timeout=timeout) as context:
            try:
                model = _join(context, model, data, spec)
                result = fit(model, data, distributed=context, **options)
            except (DistributedError, dist.DistError, RuntimeError) as exc:
                if not (dead or isinstance(exc, DistributedError) or _is_comm_error(exc)):
                    _end(children, context)
                    raise
                if isinstance(exc, DistributedError):
                    raise
                raise DistributedError(f"rank 0/{nproc}: the process group broke "
                                       f"({_first_line(exc)})") from None
            except BaseException:  # rank 0 stopped alone (TrialPruned, an error, Ctrl-C)
                _end(children, context)
                raise
    except DistributedError as exc:
        culprit = _culprit(children, dead, nproc)
        _stop(children)
        raise culprit or exc from None
    finally:
        _stop(children, grace=timeout)
    codes = [p.exitcode for p in children]
    if any(codes):
        raise _culprit(children, dead, nproc)
    return result


def _join(context, model: torch.nn.Module, data: PreparedData, spec: Spec) -> torch.nn.Module:
    """Every rank: check the world, and that all ranks hold the same data."""
    model = context.prepare(model, data, spec)
    mine = _fingerprint(data)
    seen: list[Any] = [None] * context.world_size
    dist.all_gather_object(seen, mine)
    for rank, theirs in enumerate(seen):
        if theirs != mine:
            raise DistributedError(f"{context.tag()}: rank {rank} prepared other data "
                                   f"({theirs} vs {mine}); the data must be deterministic")
    return model


def _fingerprint(data: PreparedData) -> tuple:
    x, y = np.asarray(data.train.x), np.asarray(data.train.y)
    return (x.shape, round(float(x.sum(dtype=np.float64)), 6),
            round(float(y.sum(dtype=np.float64)), 6), len(data.val.y))


def _child(rank: int, nproc: int, spec: Spec, source: SpecData, options: dict[str, Any],
           env: dict[str, str], timeout: float) -> None:
    os.environ.update(env)
    _exit_with_parent()
    code, _ = run_rank(_child_fit, spec, rank=rank, world_size=nproc, local_rank=rank,
                       timeout=timeout, source=source, options=options)
    exit_rank(code)


def _child_fit(spec: Spec, *, distributed, source: SpecData, options: dict[str, Any]):
    data = source()
    model = _join(distributed, build_model(spec, data), data, spec)
    augment = make_augment(spec.data.augment, kind=data.kind, task=data.task,
                           num_classes=data.num_classes, scaler=data.preprocess.get("scaler"))
    fit(model, data, augment=augment, distributed=distributed,
        **transfer_options(spec, model), **options)


def _exit_with_parent() -> None:
    """A child whose worker died (SIGKILL) leaves at once rather than wait out a collective."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="honed-parent-watch").start()


@contextmanager
def _watch(children: list, dead: list) -> Iterator[None]:
    """Put the first child to exit with an error in ``dead``, and abort an NCCL group then.

    gloo notices a dead peer by itself (its socket closes); NCCL would wait out the timeout.
    """
    done = threading.Event()

    def watch() -> None:
        sentinels = {p.sentinel: p for p in children}
        while sentinels and not done.is_set():
            for sentinel in multiprocessing.connection.wait(list(sentinels), timeout=0.5):
                process = sentinels.pop(sentinel)
                if process.exitcode and not done.is_set():
                    dead.append(process)
                    _abort_nccl()
                    return

    thread = threading.Thread(target=watch, daemon=True, name="honed-group-watch")
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _abort_nccl() -> None:
    try:
        if dist.is_initialized() and dist.get_backend() == "nccl":
            dist.distributed_c10d._abort_process_group()
    except Exception:  # noqa: BLE001 - best effort: the collective's timeout still bounds it
        pass


def _end(children: list, context) -> None:
    """Rank 0 stops alone: kill the children (they hold nothing to keep) before leaving."""
    for process in children:
        process.kill()
    for process in children:
        process.join()
    if context.backend == "nccl":
        _abort_nccl()


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    before = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _stop(children: list, grace: float = 5.0) -> None:
    """Wait up to ``grace`` seconds for the children to leave, then SIGKILL those still there."""
    for process in children:
        process.join(grace)
        if process.is_alive():
            process.kill()
            process.join()


def _culprit(children: list, dead: list, nproc: int) -> DistributedError | UserInputError | None:
    """The error naming the child that failed first: the watcher's, else a killed one."""
    failed = dead or sorted((p for p in children if not p.is_alive() and p.exitcode),
                            key=lambda p: p.exitcode >= 0)
    if not failed:
        return None
    process = failed[0]
    code = process.exitcode
    rank = children.index(process) + 1
    name = signal.Signals(-code).name if code < 0 else None
    return _rank_failed(rank, nproc, code, name)
