"""``export_onnx``: a PyTorch model to one self-contained ONNX file with a dynamic batch axis.

A text model (``vocab_size`` given) takes int64 token ids ``(batch, sequence)``: it is traced
on real ids with padding, its sequence axis is dynamic too where the exporter manages it
(checked by running ONNX Runtime at another batch and a shorter sequence against eager
PyTorch; otherwise the axis stays fixed at ``max_length``).

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

import numpy as np
import torch
from torch import nn

from honed.errors import ExportError
from honed.export.rnn_dispatch import fresh_rnn_dispatch
from honed.io import atomic_write_bytes

__all__ = ["OnnxExport", "export_onnx", "EXPORTERS"]

#: ``exporter=`` choices: "auto" tries dynamo, then falls back to the TorchScript exporter.
EXPORTERS = ("auto", "dynamo", "torchscript")
_DYNAMO_MIN_OPSET = 18
_TORCHSCRIPT_OPSET = 17  # the older exporter's tested range ends here (torch 2.13)
_MIN_SEQUENCE = 4  # shortest dynamic sequence: embedbag's n-grams (up to 3) branch below it


@dataclass(frozen=True)
class OnnxExport:
    """One exported file: where it is, which exporter made it and its ONNX opset."""

    path: Path
    exporter: Literal["dynamo", "torchscript"]
    opset: int
    notes: tuple[str, ...] = ()  # why the dynamo exporter was not used, when it was not
    input_dtype: Literal["float32", "int64"] = "float32"
    dynamic_axes: tuple[str, ...] = ("batch",)


def export_onnx(model: nn.Module, input_shape: Sequence[int], path: str | Path, *,
                opset: int | None = None, exporter: str = "auto",
                vocab_size: int | None = None, tabular_features: int = 0) -> OnnxExport:
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
        vocab_size: the model reads token ids below this (a text model): the input is int64
            ``(batch, sequence)``, sequence at most ``input_shape[0]``.
        tabular_features: with ``vocab_size``, the model reads ``[ids | features]`` in one
            float32 input ``(batch, input_shape[0])``, the last ``tabular_features`` of each
            row table features (:mod:`honed.data.mixed`); the sequence axis is fixed.

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
    blocker = getattr(twin, "onnx_blocker", None)
    if blocker:
        raise ExportError(f"cannot export {type(model).__name__} to ONNX: {blocker}")
    example = _example(input_shape, vocab_size, tabular_features)
    order = ["dynamo", "torchscript"] if exporter == "auto" else [exporter]
    failures: list[str] = []
    if exporter == "auto" and opset is not None and opset < _DYNAMO_MIN_OPSET:
        order = ["torchscript"]
        failures.append(f"dynamo exporter: not tried, it writes opset {_DYNAMO_MIN_OPSET} or "
                        f"later and {opset} was asked for")
    # token ids: a dynamic sequence axis first, each exporter; then a fixed one
    tries = [(name, seq) for seq in ((True, False) if vocab_size and not tabular_features
                                     else (False,))
             for name in order]
    with tempfile.TemporaryDirectory(prefix="honed-onnx-") as work:
        for name, sequence in tries:
            target = Path(work) / f"{name}.onnx"
            axes = ("batch", "sequence") if sequence else ("batch",)
            try:
                with _quiet(), torch.no_grad():
                    _EXPORT[name](twin, example, target, opset, sequence)
                    if not target.is_file():
                        raise RuntimeError("the exporter wrote no file")
                    data = target.read_bytes()
                    used_opset = _check_exported(data, opset, axes)
                    if vocab_size is not None:  # ONNX Runtime logs its failures on stderr
                        _check_token_model(twin, target, example, sequence)
            except Exception as exc:  # exporters raise many unrelated types
                label = f"{name} exporter" + (" (dynamic sequence)" if sequence else "")
                failures.append(f"{label}: {_first_line(exc)}")
                continue
            atomic_write_bytes(path, data)
            return OnnxExport(path, name, used_opset, tuple(failures),  # type: ignore[arg-type]
                              "int64" if vocab_size and not tabular_features else "float32",
                              axes)
    raise ExportError(f"cannot export {type(model).__name__} to ONNX: " + "; ".join(failures))


def _example(input_shape: Sequence[int], vocab_size: int | None, tabular: int = 0
             ) -> torch.Tensor:
    """Batch 2 (exporters specialize a batch of 1 into the graph as a constant): standard
    normal inputs, or token ids with the second text padded after its first few tokens (and
    standard normal table features after them, all float32)."""
    generator = torch.Generator().manual_seed(0)
    if vocab_size is None:
        return torch.randn(2, *input_shape, generator=generator)
    length = input_shape[0] - tabular
    ids = torch.randint(1, max(int(vocab_size), 2), (2, length), generator=generator)
    ids[1, max(1, length // 3):] = 0
    if tabular:
        return torch.cat([ids.float(), torch.randn(2, tabular, generator=generator)], dim=1)
    return ids


def _check_token_model(model: nn.Module, path: Path, example: torch.Tensor,
                       sequence: bool) -> None:
    """ONNX Runtime agrees with eager PyTorch at batch 3 and, with a dynamic sequence axis,
    at a shorter sequence: a graph that baked in a shape fails here, not in a user's hands."""
    from honed.export.runtime import ort_session

    session = ort_session(path, threads=1)
    # a mixed input's features must stay last: its first row again, not flipped
    ids = torch.cat([example, example[:1] if example.is_floating_point()
                     else example[:1].flip(1)])
    shapes = [ids] + ([ids[:, : max(_MIN_SEQUENCE, ids.shape[1] // 2)]]
                      if sequence and ids.shape[1] > _MIN_SEQUENCE else [])
    for x in shapes:
        got = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
        with torch.no_grad():
            expected = model(x).float().numpy()
        if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-4):
            raise RuntimeError(f"ONNX Runtime differs from eager PyTorch on ids shaped "
                               f"{list(x.shape)}")


def _dynamo(model: nn.Module, example: torch.Tensor, target: Path, opset: int | None,
            sequence: bool = False) -> None:
    axes = {0: torch.export.Dim("batch", min=1)}
    if sequence:
        axes[1] = torch.export.Dim("sequence", min=min(_MIN_SEQUENCE, example.shape[1]),
                                   max=example.shape[1])
    with fresh_rnn_dispatch():  # else a second LSTM/GRU export pins the sequence axis
        program = torch.onnx.export(model, (example,), dynamo=True, input_names=["input"],
                                    output_names=["output"], dynamic_shapes=(axes,),
                                    opset_version=opset, verbose=False, report=False)
    program.save(str(target), external_data=False)


def _torchscript(model: nn.Module, example: torch.Tensor, target: Path,
                 opset: int | None, sequence: bool = False) -> None:
    # the fused fast path of nn.TransformerEncoderLayer has no TorchScript-ONNX symbolic
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        _torchscript_export(model, example, target, opset, sequence)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def _torchscript_export(model: nn.Module, example: torch.Tensor, target: Path,
                        opset: int | None, sequence: bool) -> None:
    inputs = {0: "batch", 1: "sequence"} if sequence else {0: "batch"}
    torch.onnx.export(model, (example,), str(target), dynamo=False, input_names=["input"],
                      output_names=["output"], opset_version=opset or _TORCHSCRIPT_OPSET,
                      dynamic_axes={"input": inputs, "output": {0: "batch"}},
                      do_constant_folding=True)


_EXPORT = {"dynamo": _dynamo, "torchscript": _torchscript}


def _check_exported(data: bytes, opset: int | None,
                    axes: Sequence[str] = ("batch",)) -> int:
    """The file's ONNX opset, after checking its dynamic axes and opset are the ones asked
    for."""
    import onnx

    proto = onnx.load_from_string(data)
    for i, axis in enumerate(axes):
        dim = proto.graph.input[0].type.tensor_type.shape.dim[i]
        if dim.HasField("dim_value"):
            # torch.export specializes an axis when the model branches on it
            raise RuntimeError(f"the {axis} axis came out fixed at {dim.dim_value}")
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
