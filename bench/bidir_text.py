"""Bidirectional recurrent text models: packing against honed's exportable path, interleaved.

    PYTHONPATH=src python bench/bidir_text.py [--rounds 7] [--threads 1] [--device cpu]

Before, a bidirectional ``lstm``/``gru`` over token ids packed each text to its length
(``pack_padded_sequence``, which does not export); now each layer and direction runs over the
padded batch and the backward direction reads each row reversed within its length
(:mod:`honed.models.bidirectional`). Both give the same outputs (printed: the largest
difference); this measures what the change costs a training step (forward and backward) and
a prediction (forward, no grad), on the same module and batch, the two paths alternating
within each round so that load on a shared machine hits both alike. Texts of 1 to 64 tokens,
batch 64, embedding and hidden 64. The table gives the median over rounds of new / old.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from honed.models import create_model
from honed.models.recurrent import CELLS
from honed.models.tokens import lengths


def packed_forward(model, ids: torch.Tensor) -> torch.Tensor:
    """The model's output as packing computed it (same weights)."""
    x, mask = model.embed(ids)
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths(mask), batch_first=True,
                                               enforce_sorted=False)
    cell = next(c for c in CELLS.values() if isinstance(model.rnn, c))
    _, state = cell.forward(model.rnn, packed)
    hidden = state[0] if isinstance(state, tuple) else state
    return model.head(model.dropout(hidden[-2:].transpose(0, 1).flatten(1)))


def train_step(forward, ids: torch.Tensor):
    return lambda: forward(ids).sum().backward()


def predict(forward, ids: torch.Tensor):
    def run() -> None:
        with torch.no_grad():
            forward(ids)
    return run


def timed(step, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 1000, (64, 64), generator=generator)
    for row, length in enumerate(torch.randint(1, 65, (64,), generator=generator).tolist()):
        ids[row, length:] = 0
    ids = ids.to(args.device)
    print(f"{'model':<10} {'step new/old':>12} {'predict new/old':>15} {'max |diff|':>10}")
    for family in ("lstm", "gru"):
        for depth in (1, 2):
            torch.manual_seed(0)
            model = create_model(family, input_shape=(64,), num_outputs=2, vocab_size=1000,
                                 embedding_dim=64, hidden=64, depth=depth,
                                 bidirectional=True).to(args.device)
            paths = {"new": model, "old": lambda x, m=model: packed_forward(m, x)}
            with torch.no_grad():
                diff = (paths["new"](ids) - paths["old"](ids)).abs().max().item()

            for forward in paths.values():  # warm up: first calls allocate and pick kernels
                train_step(forward, ids)()
            ratios: dict[str, list[float]] = {"step": [], "predict": []}
            for round_ in range(args.rounds):
                for kind, make in (("step", train_step), ("predict", predict)):
                    order = ("new", "old") if round_ % 2 == 0 else ("old", "new")
                    ms = {path: timed(make(paths[path], ids), args.repeats) for path in order}
                    ratios[kind].append(ms["new"] / ms["old"])
            print(f"{family}-{depth:<5} {statistics.median(ratios['step']):>12.2f} "
                  f"{statistics.median(ratios['predict']):>15.2f} {diff:>10.1e}")


if __name__ == "__main__":
    main()
