"""Where batches come from: the epoch's index batches, and the inputs those indices name.

An epoch is planned first, by :func:`epoch_batches`: one permutation drawn from the order
generator, cut into the trainer's batches of global row indices (a DDP rank takes its share of
each). A feed then turns index batches into ``(x, y)`` tensors on the device:

- :class:`MemoryFeed` for splits held as arrays: rows are gathered from CPU tensors;
- :class:`LoaderFeed` for streamed splits (:class:`honed.data.streaming.LazyInputs`): a
  ``torch.utils.data.DataLoader`` whose batch sampler yields exactly those index batches, its
  worker processes computing each batch (decoding images, reading memory maps) ahead of the
  model, and kept from epoch to epoch until the feed is closed.

Both compute a batch's float32 inputs with the same arithmetic and draw nothing at random, so
the two give bit-identical training on CPU. Neither moves the whole split to the device: each
batch goes there on its own, from pinned memory with ``non_blocking=True`` on CUDA.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from honed.data.loader_workers import pick_workers
from honed.data.streaming import LazyInputs

__all__ = ["epoch_batches", "make_feed", "MemoryFeed", "LoaderFeed", "to_device"]

Batch = tuple[torch.Tensor, torch.Tensor | None]


def epoch_batches(size: int, batch_size: int, steps: int,
                  generator: torch.Generator) -> list[torch.Tensor]:
    """One epoch's batches of global row indices: ``torch.randperm(size, generator)`` cut into
    ``steps`` pieces of ``batch_size`` (the last may be shorter), as CPU int64 tensors."""
    order = torch.randperm(size, generator=generator)
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(steps)]


def make_feed(x, y=None, *, device: torch.device, channels_last: bool = False):
    """The feed for one split: a :class:`LoaderFeed` when ``x`` streams, else a
    :class:`MemoryFeed`."""
    kind = LoaderFeed if isinstance(x, LazyInputs) else MemoryFeed
    return kind(x, y, device=device, channels_last=channels_last)


def to_device(x: torch.Tensor, y: torch.Tensor | None, device: torch.device, *,
              channels_last: bool = False) -> Batch:
    """One batch onto ``device``, asynchronously from pinned memory on CUDA."""
    cuda = device.type == "cuda"
    if cuda and not x.is_pinned():
        x = x.pin_memory()
        y = None if y is None else y.pin_memory()
    layout = torch.channels_last if channels_last and x.dim() == 4 else torch.preserve_format
    x = x.to(device, non_blocking=cuda, memory_format=layout)
    return x, (None if y is None else y.to(device, non_blocking=cuda))


class MemoryFeed:
    """Batches gathered from a split held in memory (kept on the CPU, never on the device)."""

    def __init__(self, x, y=None, *, device: torch.device, channels_last: bool = False) -> None:
        self.x = torch.as_tensor(x, dtype=torch.float32)
        self.y = None if y is None else torch.as_tensor(y)
        self.device, self.channels_last = device, channels_last

    def batches(self, index_batches: Sequence[torch.Tensor]) -> Iterator[Batch]:
        """``(x, y)`` on the device for each batch of row indices, in order."""
        x, y, take = self.x, self.y, torch.index_select  # x[index], without the indexing's parsing
        if self.device.type == "cpu" and not (self.channels_last and x.dim() == 4):
            # to_device would hand the same tensors back: skip its calls on every step
            for index in index_batches:
                yield take(x, 0, index), (None if y is None else take(y, 0, index))
            return
        for index in index_batches:
            yield to_device(take(x, 0, index), None if y is None else take(y, 0, index),
                            self.device, channels_last=self.channels_last)

    def close(self) -> None:
        """Nothing to release."""


class LoaderFeed:
    """Batches computed by a DataLoader's worker processes (``data.workers``, each
    ``data.prefetch`` batches ahead), in the order of the index batches it is given.

    The workers start with the first epoch and stay for the next ones (an epoch of a small
    split would otherwise pay their start-up each time) until :meth:`close`.
    """

    def __init__(self, x: LazyInputs, y=None, *, device: torch.device,
                 channels_last: bool = False) -> None:
        self.rows = _Rows(x, None if y is None else np.asarray(y))
        # resolved here, in the process that trains, with the processes it shares cores with
        self.choice = pick_workers(x.workers)
        self.workers, self.prefetch = self.choice.workers, x.prefetch
        self.sampler = _IndexBatches()
        self.loader = None
        self.device, self.channels_last = device, channels_last

    def batches(self, index_batches: Sequence[torch.Tensor]) -> Iterator[Batch]:
        """``(x, y)`` on the device for each batch of row indices, in order."""
        self.sampler.batches = [index.tolist() for index in index_batches]
        if self.loader is None:
            self.loader = self._loader()
        for x, y in self.loader:
            yield to_device(x, y, self.device, channels_last=self.channels_last)

    def close(self) -> None:
        """Stop the workers (dropping the loader drops its iterator, which shuts them down)."""
        self.loader = None

    def _loader(self):
        from torch.utils.data import DataLoader

        workers = self.workers
        return DataLoader(
            self.rows, batch_sampler=self.sampler, num_workers=workers,
            prefetch_factor=self.prefetch if workers else None, persistent_workers=workers > 0,
            pin_memory=self.device.type == "cuda", collate_fn=_as_is,
            # each iteration draws the workers' base seed: from a generator of its own, or it
            # would take a number from torch's global one and shift the model's dropout
            generator=torch.Generator())


class _IndexBatches:
    """A batch sampler that yields the index batches set on it (one epoch's plan)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class _Rows:
    """A map-style dataset over a streamed split that fetches a whole batch at once."""

    def __init__(self, x: LazyInputs, y: np.ndarray | None) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitems__(self, rows: list[int]) -> Batch:
        index = np.asarray(rows, dtype=np.int64)
        x = torch.from_numpy(np.ascontiguousarray(self.x[index], dtype=np.float32))
        return x, (None if self.y is None else torch.as_tensor(self.y[index]))


def _as_is(batch: Batch) -> Batch:
    return batch
