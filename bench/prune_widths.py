"""Which channel multiple (``round_to``) ONNX Runtime's CPU kernels like for pruned nets.

    python bench/prune_widths.py [--threads 1] [--rounds 7]

The digits CNN of examples/digits.yaml (channels 32, 64; hidden 128) is pruned by 50% of its
channels (global scope, as ``honed compress`` prunes), with widths left as they fall and
rounded to multiples of 4, 8 and 16; every export is timed against the unpruned fp32 ONNX
model, interleaved in the same rounds (see honed.compress.timing), at batch 1 and 64.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
from pathlib import Path

import torch

from honed.compress.structured import StructuredPruner
from honed.compress.timing import latency_and_speedup, onnx_samples
from honed.export.onnx import export_onnx
from honed.models import create_model

SHAPE = (1, 8, 8)


def _widths(model) -> list[int]:
    return [m.out_channels if isinstance(m, torch.nn.Conv2d) else m.out_features
            for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--amount", type=float, default=0.5)
    parser.add_argument("--scope", default="layer", choices=["layer", "global"])
    args = parser.parse_args()
    torch.manual_seed(0)
    base = create_model("cnn", input_shape=SHAPE, num_outputs=10, channels=[32, 64],
                        hidden=128).eval()
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"fp32": export_onnx(base, SHAPE, Path(tmp) / "base.onnx",
                                     exporter="torchscript").path}
        widths = {"fp32": _widths(base)}
        for round_to in (None, 4, 8, 16):
            pruned = StructuredPruner(args.amount, SHAPE, scope=args.scope,
                                      round_to=round_to).apply(copy.deepcopy(base))
            name = f"round_to={round_to}"
            widths[name] = _widths(pruned)
            paths[name] = export_onnx(pruned, SHAPE, Path(tmp) / f"{round_to}.onnx",
                                      exporter="torchscript").path
        samples = onnx_samples(paths, SHAPE, batches=(1, 64), threads=args.threads,
                               rounds=args.rounds)
    print(f"{'model':<12} {'widths':<18} {'ms@1':>7} {'ms@64':>7} {'x@1':>6} {'x@64':>6}")
    for name in paths:
        latency, speedup = latency_and_speedup(samples, name, "fp32")
        print(f"{name:<12} {','.join(map(str, widths[name])):<18} {latency['batch1']:>7.3f} "
              f"{latency['batch64']:>7.3f} {speedup['batch1']:>6.2f} {speedup['batch64']:>6.2f}")


if __name__ == "__main__":
    main()
