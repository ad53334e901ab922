"""``fit``: the library entry point for training one model, without a spec file."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from torch import nn

from honed.data.dataset import PreparedData
from honed.data.loader_workers import tell_once
from honed.errors import CheckpointError, SpecError
from honed.spec.schema import TrainSpec
from honed.spec.validate import format_error
from honed.train.callbacks import (
    EMA,
    Callback,
    Checkpoint,
    EarlyStopping,
    HistoryLogger,
    Probes,
    ProgressBar,
    Unfreeze,
)
from honed.train.threads import pick_threads
from honed.train.trainer import FitResult, Trainer

if TYPE_CHECKING:
    from honed.train.distributed import DDPContext

__all__ = ["fit", "make_train_spec", "checkpoint_folder", "resolve_auto_lr"]


def make_train_spec(train: TrainSpec | Mapping[str, Any] | None = None, **fields: Any) -> TrainSpec:
    """A validated :class:`TrainSpec` from a spec, a mapping, keyword fields, or all three."""
    base = train.model_dump() if isinstance(train, TrainSpec) else dict(train or {})
    base.update(fields)
    try:
        return TrainSpec.model_validate(base)
    except ValidationError as exc:
        raise SpecError([f"train.{format_error(e)}" for e in exc.errors(include_url=False)]) from None


def checkpoint_folder(out_dir: str | Path) -> Path:
    return Path(out_dir) / "checkpoints"


def fit(model: nn.Module, data: PreparedData, *, train: TrainSpec | Mapping | None = None,
        seed: int = 0, augment=None, callbacks: list[Callback] = (), out_dir: str | Path | None = None,
        resume: bool = False, progress: bool = False, unfreeze_after: int | None = None,
        backbone: Iterable[str] = (), distributed: DDPContext | None = None,
        **train_fields: Any) -> FitResult:
    """Train ``model`` on ``data`` and return the history.

    Any field of the spec's ``train`` section may be given as a keyword, e.g.
    ``fit(model, data, epochs=5, optimizer={"name": "sgd", "lr": 0.1})``. Dropout and weight
    initialization draw from torch's global generator: seed it before building the model.

    Args:
        model: any ``nn.Module`` mapping ``(B, *data.input_shape)`` to ``(B, data.num_outputs)``.
        data: prepared splits (see :func:`honed.data.prepare_data`).
        train: a ``TrainSpec`` or mapping; keyword fields override it.
        seed: seeds the data order and augmentation generators.
        augment: a batch augmentation ``(x, y, generator) -> (x, y)``.
        callbacks: extra callbacks, run with the built-in ones.
        out_dir: when given, ``history.jsonl``, resumable ``checkpoints/`` (as often as
            ``checkpoint`` says) and (unless ``probes=False``) ``probes.jsonl`` are written there.
        resume: continue from ``out_dir/checkpoints/last.safetensors``.
        progress: show progress bars.
        unfreeze_after: make frozen parameters trainable from this epoch on.
        backbone: names of the parameters that train at ``backbone_lr_factor`` x the rate
            (those a checkpoint filled, see :func:`honed.models.backbone_names`); needed when
            the factor is below 1.
        distributed: this process's rank in a joined DDP group
            (:func:`honed.train.distributed.process_group`); only rank 0 writes ``out_dir``.

    Example:
        >>> result = fit(model, data, epochs=3, optimizer={"name": "adam", "lr": 1e-3})
        >>> result.history[-1]["val"]["loss"]
    """
    config = make_train_spec(train, **train_fields)
    auto_lr = None
    if config.optimizer.lr == "auto":
        config, auto_lr = resolve_auto_lr(model, data, config, seed=seed)
        if distributed is not None:
            config = distributed.same_config(config)
    chosen: list[Callback] = list(callbacks)
    if config.early_stopping is not None:
        stop = config.early_stopping
        chosen.append(EarlyStopping(stop.monitor or config.monitor, patience=stop.patience,
                                    min_delta=stop.min_delta))
    if config.ema is not None:
        chosen.append(EMA(config.ema.decay))
    if unfreeze_after is not None:
        chosen.append(Unfreeze(unfreeze_after))
    if progress:
        chosen.append(ProgressBar())
    saver = None
    if out_dir is not None and (distributed is None or distributed.is_main):
        policy = config.checkpoint
        saver = Checkpoint(checkpoint_folder(out_dir), monitor=config.monitor,
                           every_epochs=policy.every_epochs, every_seconds=policy.every_seconds)
        chosen += [HistoryLogger(Path(out_dir) / "history.jsonl"), saver]
        if config.probes:  # gradients, updates and dead units for honed doctor
            chosen.append(Probes(Path(out_dir) / "probes.jsonl"))
    make = Trainer if distributed is None else distributed.trainer
    trainer = make(model, data, config, seed=seed, augment=augment, callbacks=chosen,
                   backbone=backbone)
    trainer.threads = pick_threads(config.threads)
    trainer.data_workers = getattr(trainer.feed, "choice", None)  # a streamed split's loader
    if trainer.data_workers is not None:
        tell_once(trainer.data_workers, distributed.tag() if distributed is not None else None)
    if resume:
        last = checkpoint_folder(out_dir) / "last.safetensors" if out_dir is not None else None
        if last is None or not last.exists():
            raise CheckpointError(f"nothing to resume: {out_dir}/checkpoints/last.safetensors "
                                  "does not exist")
        trainer.load_checkpoint(last)
    with torch_threads(trainer.threads.threads):
        result = trainer.fit()
    if saver is not None:
        result.best_epoch, result.best_value = saver.best_epoch, saver.best
    result.extra["trainer"] = trainer
    if auto_lr is not None:
        result.extra["lr_find"] = auto_lr
    return result


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` torch intra-op threads (None: leave them), then restore the count.

    ``train.threads`` must hold wherever a fit runs: search trials and Python callers too, not
    only ``honed train`` (two 1-thread searches side by side ran 10x slower when each trial
    silently used every core, as OpenMP barriers then wait on a descheduled thread).
    """
    import torch

    if not threads:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def resolve_auto_lr(model: nn.Module, data: PreparedData, config: TrainSpec, *, seed: int = 0):
    """Replace ``lr: auto`` by the LR range test's suggestion, run on a copy of ``model``.

    The copy keeps ``model`` untouched and the global RNG is restored afterwards, so a fit with
    ``lr: auto`` draws the same dropout noise as one given the same number by hand (and a
    resumed fit finds the same value again).
    """
    import copy

    import torch

    from honed.train.lr_find import lr_find

    state = torch.get_rng_state()
    result = lr_find(copy.deepcopy(model), data, config, seed=seed)
    torch.set_rng_state(state)
    optimizer = config.optimizer.model_copy(update={"lr": result.suggested_lr})
    return config.model_copy(update={"optimizer": optimizer}), result
