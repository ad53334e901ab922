"""DistributedDataParallel training: one process per rank, joined over ``torch.distributed``.

Every rank draws the single-process permutation of each epoch (same seed, same generator),
gathers and augments the whole global batch, then trains on its own contiguous slice of it
(sizes differ by at most one row). DDP sums the gradients with a communication hook that
weights each rank by its share of the batch's rows, so the gradient is the single-process
mean for uneven splits too (the last batch of an epoch). Validation runs on rank 0 and its
record is broadcast, so early stopping, plateau schedules and checkpoints decide the same
everywhere; epoch metrics are all-reduced. Rank 0 alone writes the run directory.

gloo on CPU, NCCL on CUDA (rank ``r`` on ``cuda:LOCAL_RANK``), where BatchNorm becomes
SyncBatchNorm (torch runs SyncBatchNorm on GPUs only: on CPU each rank normalizes with its
own rows' statistics and DDP hands rank 0's running statistics to every rank).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from honed.errors import CheckpointError, DistributedError, UserInputError
from honed.train.batch import pick_batch_size
from honed.train.callbacks.base import Callback
from honed.train.checkpoint import read_checkpoint
from honed.train.precision import pick_device
from honed.train.trainer import Trainer

__all__ = ["DDPContext", "DistributedTrainer", "process_group", "torchrun_env",
           "check_world", "has_batch_norm", "default_timeout", "TIMEOUT_ENV"]

#: seconds a rank waits in one collective (or to join) before the group gives up
TIMEOUT_ENV = "HONED_DDP_TIMEOUT"
_RNG_STRIDE = 1_000_003  # rank r > 0 seeds its dropout noise with seed + r * this


@dataclass(frozen=True)
class DDPContext:
    """This process's place in the group: rank, world size, backend, device."""

    rank: int
    world_size: int
    local_rank: int
    backend: str
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the one that writes files and shows progress."""
        return self.rank == 0

    def tag(self) -> str:
        """``rank 1/2``, for messages."""
        return f"rank {self.rank}/{self.world_size}"

    def trainer(self, model: nn.Module, data, config, **kwargs: Any) -> DistributedTrainer:
        """A :class:`DistributedTrainer` of this rank (what ``fit`` builds under DDP)."""
        return DistributedTrainer(model, data, config, context=self, **kwargs)

    def prepare(self, model: nn.Module, data, spec) -> nn.Module:
        """Check the world against the data on every rank (all agree or all fail); sync BN on CUDA."""
        problem = None
        try:
            check_world(self.world_size, rows=len(data.train.y), batch_size=spec.train.batch_size,
                        unfreeze_after=spec.model.unfreeze_after,
                        local_norm=self.device.type != "cuda" and has_batch_norm(model))
        except UserInputError as exc:
            problem = str(exc)
        problems: list[str | None] = [None] * self.world_size
        dist.all_gather_object(problems, problem)
        for rank, found in enumerate(problems):
            if found:
                raise UserInputError(found if rank == self.rank else f"rank {rank}: {found}")
        if self.device.type == "cuda":
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return model

    def same_config(self, config):
        """Rank 0's config on every rank (``lr: auto`` may differ in the last bits on GPUs)."""
        box = [config]
        dist.broadcast_object_list(box, src=0)
        return box[0]


def has_batch_norm(model: nn.Module) -> bool:
    """True when ``model`` holds a BatchNorm layer (of any dimension)."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def torchrun_env() -> tuple[int, int, int] | None:
    """``(rank, world_size, local_rank)`` when a launcher such as torchrun set them, else None."""
    env = os.environ
    if not all(key in env for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK")):
        return None
    return int(env["RANK"]), int(env["WORLD_SIZE"]), int(env["LOCAL_RANK"])


def default_timeout() -> float:
    """``$HONED_DDP_TIMEOUT`` seconds, else 600: how long a rank waits for a silent peer."""
    value = os.environ.get(TIMEOUT_ENV) or "600"
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise UserInputError(f"{TIMEOUT_ENV} must be a number of seconds > 0; got {value!r}")
    return seconds


def check_world(world_size: int, *, rows: int, batch_size: int | str,
                unfreeze_after: int | None = None, local_norm: bool = False) -> None:
    """One-line :class:`UserInputError` unless every rank gets rows of every batch.

    ``local_norm``: the model holds BatchNorm layers that normalize each rank's rows alone
    (on CPU), which need two rows per rank, as one process needs two per batch.
    """
    if world_size < 1:
        raise UserInputError(f"--nproc must be at least 1; got {world_size}")
    if world_size > rows:
        raise UserInputError(f"--nproc {world_size} starts more processes than the {rows} "
                             "training rows; use fewer processes")
    batch = pick_batch_size(batch_size, rows)
    need = world_size * (2 if local_norm else 1)
    why = (" (BatchNorm on CPU needs 2 rows per process: torch's SyncBatchNorm runs on GPUs "
           "only)" if local_norm else "")
    if batch < need:
        raise UserInputError(f"train.batch_size {batch} is too small for --nproc {world_size}: "
                             f"each batch needs at least {need} rows{why}")
    last = rows % batch
    if 1 < last < need:  # a last batch of one row is dropped, as in one process
        raise UserInputError(f"the last batch of each epoch holds {last} of the {rows} training "
                             f"rows, fewer than the {need} that --nproc {world_size} needs{why}; "
                             "change train.batch_size or the number of processes")
    if unfreeze_after is not None and world_size > 1:
        raise UserInputError("model.unfreeze_after is not supported with more than one "
                             "process (DDP fixes the trainable parameters when it starts)")


@contextmanager
def process_group(device: str, *, rank: int, world_size: int, local_rank: int,
                  timeout: float | None = None) -> Iterator[DDPContext]:
    """Join the group (``MASTER_ADDR``/``MASTER_PORT`` from the environment) and leave it after.

    A broken group (a rank died, or sent nothing for ``timeout`` seconds) surfaces as a
    one-line :class:`~honed.errors.DistributedError` naming this rank.
    """
    chosen = pick_device(device)
    if chosen.type == "cuda":
        count = torch.cuda.device_count()
        if local_rank >= count:
            raise UserInputError(f"rank {rank} needs cuda:{local_rank} but this machine has "
                                 f"{count} CUDA device(s); start at most {count} processes here")
        torch.cuda.set_device(local_rank)
        chosen = torch.device("cuda", local_rank)
    backend = "nccl" if chosen.type == "cuda" else "gloo"
    seconds = timeout or default_timeout()
    context = DDPContext(rank, world_size, local_rank, backend, chosen)
    try:
        dist.init_process_group(backend, rank=rank, world_size=world_size,
                                timeout=timedelta(seconds=seconds))
    except (dist.DistError, RuntimeError, ValueError) as exc:
        raise DistributedError(f"{context.tag()}: could not join the process group at "
                               f"{os.environ.get('MASTER_ADDR')}:{os.environ.get('MASTER_PORT')}"
                               f" within {seconds:g}s ({_first_line(exc)})") from None
    try:
        yield context
        # leave together: a rank that tore its group down while rank 0 still wrote the run
        # dir was seen to abort in C++ ("terminate called without an active exception")
        dist.barrier(device_ids=[local_rank] if backend == "nccl" else None)
    except (dist.DistError, RuntimeError) as exc:
        if isinstance(exc, dist.DistError) or _is_comm_error(exc):
            raise DistributedError(
                f"{context.tag()}: the process group broke ({_first_line(exc)}); another rank "
                f"failed, was killed or stayed silent for {seconds:g}s ({TIMEOUT_ENV})") from None
        raise
    finally:
        dist.destroy_process_group()


class DistributedTrainer(Trainer):
    """The :class:`Trainer` of one rank: DDP-wrapped model, its rows of each batch, shared metrics."""

    def __init__(self, model: nn.Module, data, config, *, context: DDPContext, seed: int = 0,
                 callbacks: list[Callback] = (), **kwargs: Any):
        self.context = context
        self.weight = 1.0 / context.world_size  # this rank's share of the current batch
        self.rank_rng: list[Any] = []
        super().__init__(model, data, config, seed=seed, callbacks=[*callbacks, _ShareRng()],
                         **kwargs)
        ids = [context.device.index] if context.device.type == "cuda" else None
        self.train_model = DistributedDataParallel(self.model, device_ids=ids)
        self.train_model.register_comm_hook(self, _weighted_allreduce)
        if context.rank:  # own dropout noise; rank 0 draws what a single process would
            torch.manual_seed(seed + context.rank * _RNG_STRIDE)

    def validate(self) -> dict[str, float]:
        """Rank 0 validates; every rank gets its record, so all decide alike."""
        box = [super().validate() if self.context.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def checkpoint_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        tensors, state = super().checkpoint_state()
        for rank, rng in enumerate(self.rank_rng):
            tensors[f"rng.rank{rank}"] = rng
        return tensors, {**state, "world_size": self.context.world_size}

    def load_checkpoint(self, path) -> None:
        _, state = read_checkpoint(path)
        written = state.get("world_size", 1)
        if written != self.context.world_size:
            raise CheckpointError(f"{path} was written by {written} process(es); resume it "
                                  f"with --nproc {written}, not {self.context.world_size}")
        super().load_checkpoint(path)
        tensors, _ = read_checkpoint(path)
        own = tensors.get(f"rng.rank{self.context.rank}")
        if own is not None:
            _set_rng(own)

    def _rows(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rows, world, rank = len(y), self.context.world_size, self.context.rank
        low, high = rows * rank // world, rows * (rank + 1) // world
        self.weight = (high - low) / rows
        return x[low:high], y[low:high]

    def _epoch_totals(self, total: float, seen: int, correct: torch.Tensor):
        sums = torch.tensor([total, float(seen), float(correct)], dtype=torch.float64,
                            device=self.context.device)
        dist.all_reduce(sums)
        return sums[0].item(), int(sums[1].item()), sums[2].round().long()


class _ShareRng(Callback):
    """Collects every rank's torch RNG state at each epoch's end for rank 0's checkpoint."""

    order = 99  # just before Checkpoint takes its snapshot

    def on_epoch_end(self, trainer, record) -> None:
        states: list[Any] = [None] * trainer.context.world_size
        dist.all_gather_object(states, _get_rng())
        trainer.rank_rng = states


def _get_rng() -> torch.Tensor:
    state = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state = torch.cat([state, torch.cuda.get_rng_state().cpu()])
    return state


def _set_rng(state: torch.Tensor) -> None:
    size = torch.get_rng_state().numel()
    torch.set_rng_state(state[:size].clone())
    if state.numel() > size:
        torch.cuda.set_rng_state(state[size:].clone())


def _weighted_allreduce(trainer: DistributedTrainer, bucket):  # DDP checks: no annotation
    """DDP's all-reduce with each rank's gradient weighted by its share of the batch's rows."""
    tensor = bucket.buffer().mul_(trainer.weight)
    work = dist.all_reduce(tensor, async_op=True)
    return work.get_future().then(lambda fut: fut.value()[0])


def _is_comm_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("gloo", "nccl", "connection", "timed out", "timeout",
                                         "peer", "broken pipe"))


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__
