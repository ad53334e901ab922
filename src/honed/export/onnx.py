"""``export_onnx``: a PyTorch model to one self-contained ONNX file with a dynamic batch axis.

The dynamo exporter (``torch.onnx.export(..., dynamo=True)``) is tried first; where it fails,
the older TorchScript exporter (``dynamo=False``) is used instead, and :class:`OnnxExport`
records which one made the file. Both exporters print progress, warnings and logs meant for
PyTorch developers; they are kept out of the user's terminal, and when both exporters fail, the
error names each one's first line.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from honed.errors import ExportError
from honed.io import atomic_write_bytes

__all__ = ["OnnxExport", "export_onnx", "EXPORTERS"]

#: ``exporter=`` choices: "auto" tries dynamo, then falls back to the TorchScript exporter.
EXPORTERS = ("auto", "dynamo", "torchscript")
_DYNAMO_MIN_OPSET = 18
_TORCHSCRIPT_OPSET = 17  # the older exporter's tested range ends here (torch 2.13)


@dataclass(frozen=True)
class OnnxExport:
    """One exported file: where it is, which exporter made it and its ONNX opset."""

    path: Path
    exporter: Literal["dynamo", "torchscript"]
    opset: int
    notes: tuple[str, ...] = ()  # why the dynamo exporter was not used, when it was not


def export_onnx(model: nn.Module, input_shape: Sequence[int], path: str | Path, *,
                opset: int | None = None, exporter: str = "auto") -> OnnxExport:
    """Export ``model`` to ``path`` (input ``"input"``, output ``"output"``, dynamic batch).

    The model itself is left untouched: an eval-mode float32 copy on CPU is exported. The file
    is one self-contained ONNX model (weights inside, no external data), written atomically.

    Args:
        model: any module mapping ``[batch, *input_shape]`` to ``[batch, num_outputs]``.
        input_shape: one example's shape, without the batch axis.
        path: the ``.onnx`` file to write.
        opset: ONNX opset; None takes the exporter's default.
        exporter: ``"auto"`` (dynamo, then TorchScript where dynamo fails), ``"dynamo"`` or
            ``"torchscript"`` (one exporter, no fallback).

    Returns:
        The path, the exporter used and the opset of the file.

    Raises:
        ExportError: no exporter could export the model.

    Example:
        >>> export_onnx(model, (1, 8, 8), "model.onnx").exporter
        'dynamo'
    """
    if exporter not in EXPORTERS:
        raise ValueError(f"exporter must be one of {', '.join(EXPORTERS)}; got {exporter!r}")
    path = Path(path)
    twin = copy.deepcopy(model).to(device="cpu", dtype=torch.float32).eval()
    # batch 2: exporters specialize a batch of 1 into the graph as a constant
    example = torch.randn(2, *input_shape, generator=torch.Generator().manual_seed(0))
    order = ["dynamo", "torchscript"] if exporter == "auto" else [exporter]
    failures: list[str] = []
    if exporter == "auto" and opset is not None and opset < _DYNAMO_MIN_OPSET:
        order = ["torchscript"]
        failures.append(f"dynamo exporter: not tried, it writes opset {_DYNAMO_MIN_OPSET} or "
                        f"later and {opset} was asked for")
    with tempfile.TemporaryDirectory(prefix="honed-onnx-") as work:
        for name in order:
            target = Path(work) / f"{name}.onnx"
            try:
                with _quiet(), torch.no_grad():
                    _EXPORT[name](twin, example, target, opset)
                if not target.is_file():
                    raise RuntimeError("the exporter wrote no file")
                data = target.read_bytes()
                used_opset = _check_exported(data, opset)
            except Exception as exc:  # exporters raise many unrelated types
                failures.append(f"{name} exporter: {_first_line(exc)}")
                continue
            atomic_write_bytes(path, data)
            return OnnxExport(path, name, used_opset, tuple(failures))  # type: ignore[arg-type]
    raise ExportError(f"cannot export {type(model).__name__} to ONNX: " + "; ".join(failures))


def _dynamo(model: nn.Module, example: torch.Tensor, target: Path, opset: int | None) -> None:
    batch = torch.export.Dim("batch", min=1)
    program = torch.onnx.export(model, (example,), dynamo=True, input_names=["input"],
                                output_names=["output"], dynamic_shapes=({0: batch},),
                                opset_version=opset, verbose=False, report=False)
    program.save(str(target), external_data=False)


def _torchscript(model: nn.Module, example: torch.Tensor, target: Path,
                 opset: int | None) -> None:
    # the fused fast path of nn.TransformerEncoderLayer has no TorchScript-ONNX symbolic
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        _torchscript_export(model, example, target, opset)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def _torchscript_export(model: nn.Module, example: torch.Tensor, target: Path,
                        opset: int | None) -> None:
    torch.onnx.export(model, (example,), str(target), dynamo=False, input_names=["input"],
                      output_names=["output"], opset_version=opset or _TORCHSCRIPT_OPSET,
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                      do_constant_folding=True)


_EXPORT = {"dynamo": _dynamo, "torchscript": _torchscript}


def _check_exported(data: bytes, opset: int | None) -> int:
    """The file's ONNX opset, after checking its batch axis and opset are the ones asked for."""
    import onnx

    proto = onnx.load_from_string(data)
    batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
    if batch.HasField("dim_value"):
        # torch.export specializes the batch when the model branches on it
        raise RuntimeError(f"the batch axis came out fixed at {batch.dim_value}")
    found = next((int(e.version) for e in proto.opset_import if e.domain in ("", "ai.onnx")),
                 None)
    if found is None:
        raise RuntimeError("the exported model declares no ONNX opset")
    if opset is not None and found != opset:
        # the dynamo exporter writes opset 18 or later, whatever was asked
        raise RuntimeError(f"it wrote opset {found}, not the {opset} asked for")
    return found


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporters' prints, warnings and logs (file descriptors 1 and 2 included).

    Errors are not lost: they arrive as exceptions, which the caller reports.
    """
    loggers = [logging.getLogger(name) for name in ("torch", "torch.onnx", "torch.export",
                                                    "torch._dynamo", "onnxscript")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR + 1)
    saved = []
    with tempfile.TemporaryFile() as sink, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            for fd in (1, 2):
                saved.append((fd, os.dup(fd)))
                os.dup2(sink.fileno(), fd)
            with contextlib.redirect_stdout(open(os.devnull, "w")) as out, \
                    contextlib.redirect_stderr(out):
                yield
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            for fd, copy_of in saved:
                os.dup2(copy_of, fd)
                os.close(copy_of)
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def _first_line(exc: BaseException) -> str:
    """The first line of the innermost cause: the exporters wrap the real reason in advice."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()  # the exporters colour their text
    line = f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."
