"""The ONNX Runtime side of int8: pre-processing, then quantization with some nodes in float.

Kept apart from :mod:`honed.compress.quantize` (the budget and the measurements) because this is
where ONNX Runtime's quantization API and its quirks live.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from honed.compress.calibration import array_reader, calibration_method, model_input
from honed.errors import CompressError

__all__ = ["prepare_model", "make_quantizer"]


def prepare_model(float_path: Path, scratch: Path) -> tuple[Path, bool]:
    """ORT's pre-processing, then a unique name on every node (exclusion works by name).

    Args:
        float_path: the float ONNX model.
        scratch: a private folder for the prepared copy.

    Returns:
        The prepared model's path, and whether ORT's pre-processing ran (it fails on a few
        graphs, which are then quantized as they are).
    """
    import onnx
    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = scratch / "prepared.onnx"
    try:
        with _quiet():
            quant_pre_process(str(float_path), str(prepared))
        model, done = onnx.load(str(prepared)), True
    except Exception:  # some graphs defeat symbolic shape inference; quantize them as they are
        model, done = onnx.load(str(float_path)), False
    seen: set[str] = set()
    for index, node in enumerate(model.graph.node):
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_{index}"
        seen.add(node.name)
    onnx.save(model, str(prepared))
    return prepared, done


def make_quantizer(source: Path, scratch: Path, *, mode: str, calibration: str,
                   data: np.ndarray | None, per_channel: bool) -> Callable[[list[str]], Path]:
    """A function that quantizes ``source`` with some nodes kept in float, into ``scratch``.

    Args:
        source: the prepared float model (see :func:`prepare_model`).
        scratch: a private folder; each call writes a new file there and returns its path.
        mode: ``dynamic`` or ``static`` (QDQ, uint8 activations, int8 weights).
        calibration: ``minmax``, ``entropy`` or ``percentile`` (static).
        data: checked calibration samples (static).
        per_channel: one weight scale per output channel.
    """
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static

    cache = scratch / "calibration.json"  # ranges computed once, reused by every fallback try
    counter = iter(range(1_000_000))

    def quantize(excluded: list[str]) -> Path:
        path = scratch / f"int8-{next(counter)}.onnx"
        try:
            with _quiet():
                if mode == "dynamic":
                    # The dynamic quantizer first rewrites each Gemm as a MatMul named
                    # NAME_MatMul (plus an Add), and only then looks at nodes_to_exclude.
                    names = excluded + [f"{name}_MatMul" for name in excluded]
                    quantize_dynamic(source, path, per_channel=per_channel,
                                     weight_type=QuantType.QInt8, nodes_to_exclude=names)
                else:
                    name, _ = model_input(source)
                    quantize_static(source, path, array_reader(data, name),
                                    quant_format=QuantFormat.QDQ, per_channel=per_channel,
                                    activation_type=QuantType.QUInt8,
                                    weight_type=QuantType.QInt8, nodes_to_exclude=excluded,
                                    calibrate_method=calibration_method(calibration),
                                    calibration_cache_path=cache)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CompressError(f"ONNX Runtime could not quantize the model ({mode}): "
                                f"{first}") from exc
        return path

    return quantize


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """ORT's quantization tools log advice and print progress; keep both off the user's screen."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        root.setLevel(level)
