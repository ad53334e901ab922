"""Trainer overhead against a hand-written PyTorch loop: same model, data, seed, threads.

    python bench/trainer_overhead.py [--epochs 8] [--repeats 5]

Prints the time per epoch of both loops on the digits CNN (target: honed at most 3% slower)
and the time per step on a tiny MLP, where fixed per-step costs show most. Both loops are timed
alternately within one run, so machine noise hits both alike; the figure is the ratio of
medians. Progress display is off in both (it is a display, not training).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from honed.data import prepare_data
from honed.models import create_model
from honed.spec.schema import DataSpec
from honed.train import Trainer, make_train_spec


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


def honed_loop(model, data, *, epochs, batch_size, lr, seed):
    config = make_train_spec(epochs=epochs, batch_size=batch_size,
                             optimizer={"name": "adamw", "lr": lr})
    result = Trainer(model, data, config, seed=seed).fit()
    return [record["seconds"] for record in result.history]


def measure(family, knobs, data, *, epochs, repeats, batch_size):
    hand, ours = [], []
    for repeat in range(repeats):
        for runner, sink in ((hand_loop, hand), (honed_loop, ours)):
            torch.manual_seed(repeat)
            model = create_model(family, input_shape=data.input_shape,
                                 num_outputs=data.num_outputs, **knobs)
            times = runner(model, data, epochs=epochs, batch_size=batch_size, lr=1e-3,
                           seed=repeat)
            sink.extend(times[1:])  # the first epoch pays one-off allocation costs
    return statistics.median(hand), statistics.median(ours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(2)
    digits = prepare_data(DataSpec(source="builtin:digits"), seed=0)
    steps = -(-len(digits.train) // 64)
    hand, ours = measure("cnn", {"channels": [32, 64], "hidden": 128}, digits,
                         epochs=args.epochs, repeats=args.repeats, batch_size=64)
    print(f"digits CNN, {steps} steps/epoch, {torch.get_num_threads()} threads:")
    print(f"  hand-written loop {hand * 1e3:8.2f} ms/epoch")
    print(f"  honed Trainer     {ours * 1e3:8.2f} ms/epoch")
    print(f"  overhead          {100 * (ours / hand - 1):+8.2f} %  (target <= +3%)")
    tiny = prepare_data(DataSpec(source="builtin:iris", split={"val": 0.2, "test": 0.2}), seed=0)
    batch = 8
    steps = -(-len(tiny.train) // batch)
    hand, ours = measure("mlp", {"hidden": 16, "depth": 1}, tiny, epochs=args.epochs * 4,
                         repeats=args.repeats, batch_size=batch)
    print(f"tiny MLP (iris, batch {batch}, {steps} steps/epoch):")
    print(f"  hand-written loop {hand / steps * 1e3:8.3f} ms/step")
    print(f"  honed Trainer     {ours / steps * 1e3:8.3f} ms/step")
    print(f"  overhead          {(ours - hand) / steps * 1e3:+8.3f} ms/step "
          "(Lightning on this kind of machine: +0.59 ms/step)")


if __name__ == "__main__":
    main()
