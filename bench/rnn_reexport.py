"""A recurrent text model's second ONNX export in one process: before and after the fix.

    PYTHONPATH=src python bench/rnn_reexport.py [--rounds 2] [--families lstm,gru,lstm-bi]

``honed run`` exports a text model at least twice in one process (compress measures an fp32
ONNX, then the bundle is written). Before, PyTorch's stale dispatch memo of ``aten.lstm`` /
``aten.gru`` (:mod:`honed.export.rnn_dispatch`) pinned the sequence axis of every dynamo export
after the first, so :func:`~honed.export.onnx.export_onnx` tried dynamo, saw the fixed axis and
redid the export with TorchScript; now the memo is cleared around each dynamo export.

Per family, each round: an untimed export by the old code (without the clearing; in the first
round this is the process's first export of the family, which warms up), then the old code's
second export and the new code's, each timed, one after the other so that load on a shared
machine hits both alike. (The new code clears the memo after its export too, so the old code
needs an export of its own before each timed one.) Prints each export's exporter and seconds,
and the median over rounds of new / old.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import torch

from honed.export import onnx as onnx_export
from honed.models import create_model

MAX_LENGTH, VOCAB = 16, 64


def timed_export(model, path: Path, fixed: bool) -> tuple[str, float]:
    """(exporter used, seconds) of one export, with the fix or without it."""
    saved = onnx_export.fresh_rnn_dispatch
    if not fixed:
        onnx_export.fresh_rnn_dispatch = contextlib.nullcontext
    try:
        start = time.perf_counter()
        result = onnx_export.export_onnx(model, (MAX_LENGTH,), path, vocab_size=VOCAB)
        return result.exporter, time.perf_counter() - start
    finally:
        onnx_export.fresh_rnn_dispatch = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--families", default="lstm,gru,lstm-bi")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}; {args.rounds} rounds; max_length {MAX_LENGTH}")
    with tempfile.TemporaryDirectory() as work:
        for name in args.families.split(","):
            torch.manual_seed(0)
            model = create_model(name.removesuffix("-bi"), input_shape=(MAX_LENGTH,),
                                 num_outputs=2, vocab_size=VOCAB, embedding_dim=16, hidden=16,
                                 bidirectional=name.endswith("-bi")).eval()
            ratios = []
            for i in range(args.rounds):
                used, seconds = timed_export(model, Path(work) / f"first{i}.onnx", fixed=False)
                print(f"{name}: round {i}: an export ({used} {seconds:.1f}s), then")
                old = timed_export(model, Path(work) / f"old{i}.onnx", fixed=False)
                new = timed_export(model, Path(work) / f"new{i}.onnx", fixed=True)
                ratios.append(new[1] / old[1])
                print(f"{name}: round {i}: before {old[0]} {old[1]:.1f}s, "
                      f"after {new[0]} {new[1]:.1f}s")
            print(f"{name}: second export, after / before: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
