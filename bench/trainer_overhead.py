"""Trainer overhead against a hand-written PyTorch loop: same model, data, seed, threads.

    python bench/trainer_overhead.py [--epochs 8] [--repeats 5] [--threads 1]

Times, per epoch and for the whole fit, on the digits CNN and on a tiny MLP (iris, batch 8,
where fixed per-epoch costs show most):

- ``hand loop``: what a practitioner writes (randperm, slice, forward, backward, step, a
  validation pass);
- ``bare Trainer``: ``honed.train.Trainer`` with no callbacks;
- ``run dir``: ``fit(..., out_dir=DIR)``, the path ``honed train --quiet``, every search trial
  and ``honed run`` take: history, probes and checkpoints under ``train.checkpoint``'s default;
- ``run dir, every epoch``: the same with ``train.checkpoint.every_epochs: 1``.

An epoch's time runs from the end of one epoch's last callback to the next's (so checkpoint
and log writes count); the whole fit includes building the trainer, the first epoch and the
final save. The variants run alternately in every repeat, so machine load hits them alike;
figures are medians (per-epoch: the first epoch of each fit left out, it pays one-off
allocations). Progress display is off everywhere (it is a display, not training).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import torch
from torch import nn

from honed.data import prepare_data
from honed.models import create_model
from honed.spec.schema import DataSpec, TrainSpec
from honed.train import Trainer, fit, make_train_spec
from honed.train.callbacks import Callback


class EpochClock(Callback):
    """Wall time of each whole epoch, callbacks included (runs after every other callback)."""

    order = 1000

    def __init__(self):
        self.times: list[float] = []

    def on_fit_start(self, trainer) -> None:
        self._mark = time.perf_counter()

    def on_epoch_end(self, trainer, record) -> None:
        now = time.perf_counter()
        self.times.append(now - self._mark)
        self._mark = now


def hand_loop(model, data, *, epochs, batch_size, lr, seed):
    """What a practitioner writes by hand: randperm, slice, forward, loss, backward, step."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    x, y = torch.as_tensor(data.train.x), torch.as_tensor(data.train.y)
    generator = torch.Generator().manual_seed(seed)
    times = []
    for _ in range(epochs):
        began = time.perf_counter()
        model.train()
        order = torch.randperm(len(x), generator=generator)
        total = 0.0
        for start in range(0, len(x), batch_size):
            index = order[start:start + batch_size]
            loss = nn.functional.cross_entropy(model(x[index]), y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(index)
        model.eval()
        with torch.no_grad():
            val = model(torch.as_tensor(data.val.x))
            nn.functional.cross_entropy(val, torch.as_tensor(data.val.y)).item()
        times.append(time.perf_counter() - began)
    return times


def _config(epochs, batch_size, lr, threads, **fields):
    return make_train_spec(epochs=epochs, batch_size=batch_size, threads=threads,
                           optimizer={"name": "adamw", "lr": lr, "weight_decay": 0.0}, **fields)


def bare_trainer(model, data, *, epochs, batch_size, lr, seed, threads):
    clock = EpochClock()
    Trainer(model, data, _config(epochs, batch_size, lr, threads), seed=seed,
            callbacks=[clock]).fit()
    return clock.times


def run_dir(model, data, *, epochs, batch_size, lr, seed, threads, **fields):
    clock = EpochClock()
    with tempfile.TemporaryDirectory() as folder:
        fit(model, data, train=_config(epochs, batch_size, lr, threads, **fields), seed=seed,
            out_dir=os.path.join(folder, "run"), callbacks=[clock])
    return clock.times


def run_dir_every_epoch(model, data, **kwargs):
    return run_dir(model, data, checkpoint={"every_epochs": 1, "every_seconds": None}, **kwargs)


def variants():
    chosen = {"hand loop": hand_loop, "bare Trainer": bare_trainer, "run dir": run_dir}
    if "checkpoint" in TrainSpec.model_fields:  # absent before train.checkpoint existed
        chosen["run dir, every epoch"] = run_dir_every_epoch
    return chosen


def measure(family, knobs, data, *, epochs, repeats, batch_size, threads):
    """Per variant: (median seconds per epoch, median seconds per whole fit)."""
    per_epoch = {name: [] for name in variants()}
    whole = {name: [] for name in variants()}
    names = list(variants())
    for repeat in range(repeats):
        # a different variant goes first in each repeat: none always runs on a cold cache
        for name in names[repeat % len(names):] + names[:repeat % len(names)]:
            runner = variants()[name]
            torch.manual_seed(repeat)
            model = create_model(family, input_shape=data.input_shape,
                                 num_outputs=data.num_outputs, **knobs)
            extra = {} if runner is hand_loop else {"threads": threads}
            began = time.perf_counter()
            times = runner(model, data, epochs=epochs, batch_size=batch_size, lr=1e-3,
                           seed=repeat, **extra)
            whole[name].append(time.perf_counter() - began)
            per_epoch[name].extend(times[1:])  # the first epoch pays one-off allocations
    return ({name: statistics.median(v) for name, v in per_epoch.items()},
            {name: statistics.median(v) for name, v in whole.items()})


def report(title, per_epoch, whole, *, steps):
    print(title)
    hand_epoch, hand_whole = per_epoch["hand loop"], whole["hand loop"]
    print(f"  {'':22}{'ms/step':>9}{'ms/epoch':>10}{'vs hand':>9}{'whole fit':>11}"
          f"{'vs hand':>9}")
    for name in per_epoch:
        epoch = per_epoch[name]
        print(f"  {name:22}{epoch / steps * 1e3:9.3f}{epoch * 1e3:10.2f}"
              f"{100 * (epoch / hand_epoch - 1):+8.1f}%{whole[name]:10.3f}s"
              f"{100 * (whole[name] / hand_whole - 1):+8.1f}%")
    bare = per_epoch["bare Trainer"]
    print(f"  the output folder's cost per epoch (run dir vs bare Trainer): "
          f"{100 * (per_epoch['run dir'] / bare - 1):+.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch threads {args.threads}, load average {os.getloadavg()[0]:.1f} at start")
    digits = prepare_data(DataSpec(source="builtin:digits"), seed=0)
    steps = -(-len(digits.train) // 64)
    per_epoch, whole = measure("cnn", {"channels": [32, 64], "hidden": 128}, digits,
                               epochs=args.epochs, repeats=args.repeats, batch_size=64,
                               threads=args.threads)
    report(f"digits CNN, batch 64, {steps} steps/epoch, {args.epochs} epochs "
           "(goal: run dir <= +5%)", per_epoch, whole, steps=steps)
    tiny = prepare_data(DataSpec(source="builtin:iris", split={"val": 0.2, "test": 0.2}), seed=0)
    batch = 8
    steps = -(-len(tiny.train) // batch)
    per_epoch, whole = measure("mlp", {"hidden": 16, "depth": 1}, tiny, epochs=args.epochs * 4,
                               repeats=args.repeats, batch_size=batch, threads=args.threads)
    report(f"tiny MLP (iris), batch {batch}, {steps} steps/epoch, {args.epochs * 4} epochs",
           per_epoch, whole, steps=steps)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
