"""The training loop: short on purpose; everything optional lives in callbacks."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from honed.data.dataset import PreparedData
from honed.errors import NonFiniteLossError
from honed.interrupts import raise_if_interrupted
from honed.models.transfer import hold_frozen_norms
from honed.spec.schema import TrainSpec
from honed.train.batch import pick_batch_size
from honed.train.callbacks.base import Callback
from honed.train.checkpoint import flatten_optimizer, read_checkpoint, unflatten_optimizer
from honed.train.evaluate import evaluate_arrays
from honed.train.feed import epoch_batches, make_feed
from honed.train.hits import Hits
from honed.train.losses import make_loss, penalty
from honed.train.metrics import metric_mode
from honed.train.monitor import read_monitor
from honed.train.optim import BACKBONE_KEY, create_optimizer
from honed.train.precision import autocast, make_scaler, pick_device, pick_precision
from honed.train.rng import capture_rng, restore_rng
from honed.train.schedules import create_schedule
from honed.train.speed import training_forward

__all__ = ["Trainer", "FitResult"]


@dataclass
class FitResult:
    """What a fit returns: the per-epoch history and why it stopped."""

    history: list[dict[str, Any]]
    stop_reason: str
    seconds: float
    epochs_run: int
    best_epoch: int | None = None
    best_value: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Trainer:
    """Fits ``model`` on ``data.train``, validating on ``data.val`` after every epoch.

    Data order comes from a generator seeded with ``seed`` and drawn once per epoch, exactly as
    ``torch.randperm(n, generator=g)`` in a hand-written loop; augmentation draws from a second
    generator. Both are saved in checkpoints, which makes a resumed fit bit-identical on CPU.
    Batches come from a feed (:mod:`honed.train.feed`): gathered from memory, or computed by
    DataLoader workers for a streamed split, with the same numbers.
    ``backbone`` names the parameters that train at ``config.backbone_lr_factor`` x the rate.
    """

    def __init__(self, model: nn.Module, data: PreparedData, config: TrainSpec, *, seed: int = 0,
                 augment=None, callbacks: list[Callback] = (), backbone: Iterable[str] = ()):
        self.config = config
        self.data = data
        self.device = pick_device(config.device)
        self.precision = pick_precision(config.precision, self.device)
        self.model = model.to(self.device)
        # what the loop calls: channels-last and compiled when asked (train/speed.py); DDP
        # wraps the plain model instead (train/distributed.py)
        self.train_model = training_forward(self.model, channels_last=config.channels_last,
                                            compile=config.compile)
        self.eval_model = self.model  # the EMA callback swaps in its average
        self.augment = augment
        self.callbacks = sorted(callbacks, key=lambda cb: cb.order)
        self._batch_callbacks = [cb for cb in self.callbacks if cb.overrides("on_batch_end")]
        self.feed = make_feed(data.train.x, data.train.y, device=self.device,
                              channels_last=config.channels_last)
        size, batch = len(data.train), pick_batch_size(config.batch_size, len(data.train))
        # a last batch of one sample breaks BatchNorm in training mode: drop it
        self.steps_per_epoch = size // batch + (1 if size % batch > 1 else 0)
        self.batch_size = batch
        opt, backbone = config.optimizer, set(backbone)
        self.optimizer = create_optimizer(
            self.model, name=opt.name, lr=opt.lr, weight_decay=opt.weight_decay,
            momentum=opt.momentum, beta1=opt.beta1, beta2=opt.beta2, eps=opt.eps,
            backbone=[p for name, p in model.named_parameters() if name in backbone],
            backbone_lr_factor=config.backbone_lr_factor)
        # the first backbone group, whose rate history.jsonl shows as lr_backbone
        self.backbone_group = next((i for i, g in enumerate(self.optimizer.param_groups)
                                    if g.get(BACKBONE_KEY)), None)
        sched = config.schedule
        self.schedule = create_schedule(
            self.optimizer, name=sched.name, epochs=config.epochs,
            steps_per_epoch=self.steps_per_epoch, warmup_epochs=sched.warmup_epochs,
            step_size=sched.step_size, gamma=sched.gamma, min_lr=sched.min_lr,
            max_lr_factor=sched.max_lr_factor, pct_start=sched.pct_start, factor=sched.factor,
            patience=sched.patience)
        self.loss_fn = make_loss(data.task, label_smoothing=config.label_smoothing)
        self.scaler = make_scaler(self.precision, self.device)
        self.generators = {"order": torch.Generator().manual_seed(seed),
                           "augment": torch.Generator().manual_seed(seed + 1)}
        self.seed = seed
        self.epoch = 0  # index of the epoch running now; equals epochs done between epochs
        self.step = 0
        self.loss_value: float | None = None  # the last batch's loss, as on_batch_end sees it
        self.history: list[dict[str, Any]] = []
        self.stop_reason: str | None = None
        self.threads = None  # the ThreadChoice fit() made, for headers and metrics
        self.data_workers = None  # a streamed split's WorkerChoice, for logs and metrics

    # ------------------------------------------------------------------ public
    def fit(self) -> FitResult:
        """Train until ``epochs`` are done or a callback asks to stop."""
        start = time.perf_counter()
        self._call("on_fit_start")
        try:
            while self.epoch < self.config.epochs and self.stop_reason is None:
                self._call("on_epoch_start")
                began = time.perf_counter()
                train_metrics = self._train_epoch()
                record = {"epoch": self.epoch + 1, "train": train_metrics,
                          "val": self.validate(), "lr": self.schedule.current_lr()}
                if self.backbone_group is not None:
                    record["lr_backbone"] = self.schedule.current_lr(self.backbone_group)
                record["seconds"] = round(time.perf_counter() - began, 4)
                self._call("on_validation_end", record)
                monitor = self.config.monitor
                self.schedule.on_validation(read_monitor(record, monitor),
                                            metric_mode(monitor.split(".")[-1]))
                self.history.append(record)
                self.epoch += 1
                self._call("on_epoch_end", record)
        finally:
            self._call("on_fit_end")
            self.feed.close()  # DataLoader workers of a streamed split stop here
        reason = self.stop_reason or f"completed {self.config.epochs} epochs"
        return FitResult(history=self.history, stop_reason=reason, epochs_run=self.epoch,
                         seconds=time.perf_counter() - start)

    def validate(self) -> dict[str, float]:
        """Loss and metrics of ``eval_model`` on the validation split."""
        return evaluate_arrays(self.eval_model, self.data.val.x, self.data.val.y,
                               task=self.data.task, target_scale=self.data.target_scale,
                               device=self.device, precision=self.precision)

    def request_stop(self, reason: str) -> None:
        """Ask the loop to stop after the current epoch (used by early stopping, pruners)."""
        self.stop_reason = reason

    def checkpoint_state(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        """Everything needed to continue exactly from here: tensors and JSON state."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        optim_tensors, optim_state = flatten_optimizer(self.optimizer.state_dict())
        rng_tensors, rng_state = capture_rng(self.generators)
        tensors.update(optim_tensors)
        tensors.update(rng_tensors)
        callbacks = {}
        for key, callback in self._keyed_callbacks():
            callbacks[key] = callback.state_dict()
            if hasattr(callback, "tensors"):
                tensors.update(callback.tensors())
        state = {
            "epoch": self.epoch, "step": self.step, "seed": self.seed,
            "optimizer": optim_state, "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler else None,
            "callbacks": callbacks, "rng": rng_state, "history": self.history,
        }
        return tensors, state

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore a checkpoint written by :meth:`checkpoint_state` (call before :meth:`fit`)."""
        tensors, state = read_checkpoint(path)
        model_state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        self.model.load_state_dict(model_state)
        self.optimizer.load_state_dict(unflatten_optimizer(tensors, state["optimizer"]))
        self.schedule.load_state_dict(state["schedule"])
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        for key, callback in self._keyed_callbacks():
            if key in state["callbacks"]:
                callback.load_state_dict(state["callbacks"][key])
            if hasattr(callback, "load_tensors"):
                callback.load_tensors(tensors)
        restore_rng(tensors, state["rng"], self.generators)
        self.epoch, self.step, self.history = state["epoch"], state["step"], state["history"]

    # ------------------------------------------------------------------ internals
    def _train_epoch(self) -> dict[str, float]:
        model, optimizer, clip = self.train_model, self.optimizer, self.config.clip
        model.train()
        hold_frozen_norms(model)  # frozen BatchNorm layers keep their running statistics
        batches = epoch_batches(len(self.data.train), self.batch_size, self.steps_per_epoch,
                                self.generators["order"])
        hits = Hits(self.device) if self.data.task == "classification" else None
        total, seen = 0.0, 0
        l1, l2 = self.config.l1, self.config.l2
        for x, y in self.feed.batches(batches):
            raise_if_interrupted()  # a Ctrl-C that a finalizer swallowed
            if self.augment is not None:
                x, y = self.augment(x, y, self.generators["augment"])
            x, y = self._rows(x, y)
            with autocast(self.precision, self.device):
                outputs = model(x)
            loss = self.loss_fn(outputs.float(), y)
            value = loss.item()
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"training loss became {value} at epoch {self.epoch + 1}, step {self.step + 1}"
                    f" (lr {self.schedule.current_lr():.3g}); lower train.optimizer.lr, add "
                    "train.clip.norm, or check the data for NaN/inf; no checkpoint was written "
                    "from this state")
            objective = loss
            if l1 or l2:
                objective = loss + penalty(model, l1=l1, l2=l2)
            optimizer.zero_grad(set_to_none=True)
            self._backward_and_step(objective, clip)
            self.schedule.step()
            self.step += 1
            total += value * len(y)
            seen += len(y)
            if hits is not None:
                hits.add(outputs, y)
            self.loss_value = value
            for callback in self._batch_callbacks:
                callback.on_batch_end(self, loss)
        correct = (hits.count() if hits is not None
                   else torch.zeros((), dtype=torch.long, device=self.device))
        total, seen, correct = self._epoch_totals(total, seen, correct)
        metrics = {"loss": total / max(seen, 1)}
        if hits is not None:
            metrics["accuracy"] = correct.item() / max(seen, 1)
        return metrics

    def _rows(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The rows of a (global) batch this process trains on: all of them, but under DDP."""
        return x, y

    def _epoch_totals(self, total: float, seen: int, correct: torch.Tensor):
        """An epoch's loss sum, row count and hits over every process (here: this one)."""
        return total, seen, correct

    def _backward_and_step(self, objective: torch.Tensor, clip) -> None:
        if self.scaler is not None:
            self.scaler.scale(objective).backward()
            if clip.norm or clip.value:
                self.scaler.unscale_(self.optimizer)
                self._clip(clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            return
        objective.backward()
        if clip.norm or clip.value:
            self._clip(clip)
        self.optimizer.step()

    def _clip(self, clip) -> None:
        parameters = [p for p in self.model.parameters() if p.grad is not None]
        if clip.value:
            torch.nn.utils.clip_grad_value_(parameters, clip.value)
        if clip.norm:
            torch.nn.utils.clip_grad_norm_(parameters, clip.norm)

    def _call(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)

    def _keyed_callbacks(self):
        counts: dict[str, int] = {}
        for callback in self.callbacks:
            name = type(callback).__name__
            counts[name] = counts.get(name, 0) + 1
            yield (name if counts[name] == 1 else f"{name}{counts[name]}"), callback

