"""A Triton Inference Server model repository for a bundle's model (ONNX Runtime backend).

Layout, inside the bundle (Triton's model-repository convention: one folder per model, named
like the model, holding ``config.pbtxt`` and numbered version folders)::

    bundle/triton/<name>/config.pbtxt
    bundle/triton/<name>/1/model.onnx

``config.pbtxt`` names the ``onnxruntime_onnx`` platform, the input and output with their
dtypes (float32, or int64 token ids for a text model) and per-example dims; the batch axis is left to ``max_batch_size`` (Triton adds
it in front of ``dims``), and dynamic batching is on. Serve it with
``tritonserver --model-repository DIR/bundle/triton``. Triton does not run honed's
preprocessing: clients send preprocessed inputs (see ``preprocess.json``; for text, token ids
from the bundle's ``tokenizer.json``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from honed.io import atomic_write_bytes, atomic_write_text

__all__ = ["write_triton_repository", "triton_config", "triton_model_name"]

_TRITON_TYPES = {"float32": "TYPE_FP32", "int64": "TYPE_INT64"}


def triton_model_name(name: str) -> str:
    """A Triton model name (letters, digits, ``_``, ``-``, ``.``) from a run's name."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]", "_", name).strip(".")
    return cleaned or "model"


def triton_config(name: str, input_shape: Sequence[int], num_outputs: int, *,
                  max_batch_size: int = 64, input_name: str = "input",
                  output_name: str = "output", input_dtype: str = "float32") -> str:
    """The text of ``config.pbtxt`` for one ONNX model with a dynamic batch axis.

    Args:
        name: the model name (the folder's name).
        input_shape: one example's shape (the batch axis excluded).
        num_outputs: width of the output.
        max_batch_size: the largest batch Triton forms or accepts.
        input_name, output_name: the ONNX graph's input and output names.
        input_dtype: ``float32``, or ``int64`` (token ids).

    Returns:
        The protobuf text of Triton's ``ModelConfig``.
    """
    dims = ", ".join(str(int(size)) for size in input_shape)
    preferred = sorted({size for size in (8, 32, max_batch_size) if size <= max_batch_size})
    return (
        f'name: "{name}"\n'
        'platform: "onnxruntime_onnx"\n'
        f"max_batch_size: {int(max_batch_size)}\n"
        "input [\n"
        "  {\n"
        f'    name: "{input_name}"\n'
        f"    data_type: {_TRITON_TYPES[input_dtype]}\n"
        f"    dims: [ {dims} ]\n"
        "  }\n"
        "]\n"
        "output [\n"
        "  {\n"
        f'    name: "{output_name}"\n'
        "    data_type: TYPE_FP32\n"
        f"    dims: [ {int(num_outputs)} ]\n"
        "  }\n"
        "]\n"
        "instance_group [\n"
        "  {\n"
        "    count: 1\n"
        "    kind: KIND_CPU\n"
        "  }\n"
        "]\n"
        "dynamic_batching {\n"
        f"  preferred_batch_size: [ {', '.join(str(size) for size in preferred)} ]\n"
        "  max_queue_delay_microseconds: 100\n"
        "}\n"
    )


def write_triton_repository(bundle: str | Path, name: str, input_shape: Sequence[int],
                            num_outputs: int, *, max_batch_size: int = 64,
                            input_dtype: str = "float32") -> Path:
    """Write ``bundle/triton/<name>/`` from ``bundle/model.onnx``.

    Args:
        bundle: a folder holding ``model.onnx`` (the bundle being written).
        name: the run's name; cleaned into a Triton model name.
        input_shape: one example's shape.
        num_outputs: width of the output.
        max_batch_size: Triton's ``max_batch_size``.
        input_dtype: ``float32``, or ``int64`` (token ids).

    Returns:
        The model's folder, ``bundle/triton/<name>``.
    """
    bundle = Path(bundle)
    name = triton_model_name(name)
    folder = bundle / "triton" / name
    atomic_write_bytes(folder / "1" / "model.onnx", (bundle / "model.onnx").read_bytes())
    atomic_write_text(folder / "config.pbtxt", triton_config(
        name, input_shape, num_outputs, max_batch_size=max_batch_size, input_dtype=input_dtype))
    return folder
