"""Latency, size and MACs of models, measured the same way for every variant.

Every latency is the median of ``repeats`` timed calls after ``warmup`` untimed ones, on the
same seeded float32 input, one call at a time, with a fixed thread count. ONNX models run in a
session from :func:`honed.export.runtime.ort_session` (the one place that sets runtime options);
PyTorch models run eagerly in float32 under ``torch.inference_mode``. A measurement stops early
once it has spent ``budget_s`` seconds (never with fewer than ``MIN_REPEATS`` calls), so a large
model at batch 64 does not take minutes; small models always get all their repeats.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from honed.errors import UserInputError

if TYPE_CHECKING:
    from torch import nn

__all__ = ["median_ms", "onnx_latency_ms", "torch_latency_ms", "size_bytes", "count_macs",
           "REPEATS", "WARMUP", "BUDGET_S"]

REPEATS = 200  # timed calls; the median of 200 is stable to a few percent on a quiet core
WARMUP = 20  # untimed calls first: allocations, thread pools and caches settle
BUDGET_S = 3.0  # per measurement; past it, stop (keeping at least MIN_REPEATS calls)
MIN_REPEATS = 10


def _inputs(input_shape: Sequence[int], batch: int) -> np.ndarray:
    if int(batch) < 1:
        raise UserInputError(f"batch must be a positive integer; got {batch}")
    rng = np.random.default_rng(0)  # the same values for every model measured
    return rng.standard_normal((int(batch), *map(int, input_shape)), dtype=np.float32)


def median_ms(call: Callable[[], object], *, repeats: int, warmup: int, budget_s: float,
              min_repeats: int = MIN_REPEATS) -> float:
    """Median milliseconds of ``call`` over ``repeats`` timed calls after ``warmup`` untimed
    ones; past ``budget_s`` seconds it stops, once ``min_repeats`` calls are timed."""
    began = time.perf_counter()
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        end = time.perf_counter()
        times.append(end - start)
        if end - began > budget_s and len(times) >= min_repeats:
            break
    return statistics.median(times) * 1e3


def onnx_latency_ms(path: str | Path, *, batch: int, threads: int | None = None,
                    repeats: int = REPEATS, warmup: int = WARMUP, budget_s: float = BUDGET_S,
                    input_shape: Sequence[int] | None = None) -> float:
    """Median milliseconds of one ONNX Runtime call on a batch of ``batch`` examples.

    Args:
        path: an ``.onnx`` file whose first input is ``[batch, *input_shape]`` float32.
        batch: examples per call.
        threads: intra-op threads; None keeps ONNX Runtime's default.
        repeats: timed calls (the median is returned).
        warmup: untimed calls before timing.
        budget_s: stop timing after this many seconds (at least 10 calls are kept).
        input_shape: one example's shape; read from the model when None.

    Returns:
        The median latency in milliseconds.

    Example:
        >>> onnx_latency_ms("runs/mnist/bundle/model.onnx", batch=1, threads=1)
        0.0112
    """
    from honed.export.runtime import ort_session

    session = ort_session(path, threads=threads)
    first = session.get_inputs()[0]
    if input_shape is None:
        input_shape = first.shape[1:]
        if not all(isinstance(dim, int) for dim in input_shape):
            raise UserInputError(f"{path}: input {first.name!r} has symbolic dims {first.shape}; "
                                 f"pass input_shape=")
    feed = {first.name: _inputs(input_shape, batch)}
    return median_ms(lambda: session.run(None, feed), repeats=repeats, warmup=warmup,
                      budget_s=budget_s)


def torch_latency_ms(model: nn.Module, input_shape: Sequence[int], *, batch: int,
                     threads: int | None = None, repeats: int = REPEATS, warmup: int = WARMUP,
                     budget_s: float = BUDGET_S) -> float:
    """Median milliseconds of one eager float32 forward pass on ``batch`` examples.

    The model runs in eval mode under ``torch.inference_mode`` on its own device; its
    train/eval mode and torch's thread count are restored afterwards.

    Args:
        model: a module mapping ``[batch, *input_shape]`` to its outputs.
        input_shape: one example's shape, without the batch axis.
        batch: examples per call.
        threads: torch intra-op threads for the measurement; None keeps the current count.
        repeats: timed calls (the median is returned).
        warmup: untimed calls before timing.
        budget_s: stop timing after this many seconds (at least 10 calls are kept).

    Returns:
        The median latency in milliseconds.
    """
    import torch

    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    x = torch.from_numpy(_inputs(input_shape, batch)).to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def call() -> None:
        model(x)
        sync()  # a CUDA call returns before the work is done

    previous, was_training = torch.get_num_threads(), model.training
    try:
        if threads is not None:
            torch.set_num_threads(int(threads))
        model.eval()
        with torch.inference_mode():
            return median_ms(call, repeats=repeats, warmup=warmup, budget_s=budget_s)
    finally:
        model.train(was_training)
        torch.set_num_threads(previous)


def size_bytes(path_or_folder: str | Path) -> int:
    """Bytes on disk of a file, or of every file under a folder (recursively)."""
    path = Path(path_or_folder)
    if path.is_file():
        return path.stat().st_size
    if not path.is_dir():
        raise UserInputError(f"{path} does not exist")
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(path) for name in names)


def count_macs(model: nn.Module, input_shape: Sequence[int]) -> int | None:
    """Multiply-accumulates of one forward pass on one example (batch 1).

    Counted exactly for ``nn.Linear``, ``nn.Conv1d/2d/3d`` (and transposed convolutions),
    ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (every gate, layer, direction and step) and
    ``nn.MultiheadAttention`` (input and output projections plus the two attention products),
    which covers honed's mlp, cnn, resnet, rnn, lstm, gru and transformer families. Normalization,
    activations, pooling and element-wise ops are not counted (they are not MACs), nor are
    matrix products a custom model computes outside these modules: for such a model the count
    is a lower bound. Returns None when the model cannot run on a zero input of that shape.
    """
    from honed.compress.macs import count_module_macs

    return count_module_macs(model, input_shape)
