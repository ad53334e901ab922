"""``export_bundle``: a run's model to a verified bundle in ``DIR/bundle/``.

The bundle (format in :mod:`honed.export.card`) is written whole into a temporary folder inside
the run dir, verified, read back with :func:`~honed.export.card.read_bundle`, and only then
renamed into place; an older bundle is replaced after the new one passed. A model that fails
verification leaves nothing behind.
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from honed.errors import UserInputError
from honed.io import atomic_write_bytes, atomic_write_json

if TYPE_CHECKING:
    from honed.export.source import ExportSource

__all__ = ["export_bundle", "FORMATS", "BUNDLE_DIR"]

FORMATS = ("onnx", "triton")
BUNDLE_DIR = "bundle"
OPSETS = (13, 23)  # what the exporters write and ONNX Runtime runs (as ExportSpec.opset)


def export_bundle(run_dir: str | Path, *, variant: str | None = None,
                  formats: Sequence[str] = ("onnx",), opset: int | None = None,
                  max_batch_size: int | None = None, exporter: str = "auto") -> Path:
    """Export the run's model (or its compression variant) to ``run_dir/bundle``.

    Args:
        run_dir: a run dir holding ``model/`` (``honed train`` or ``honed run``).
        variant: a variant in ``run_dir/compress`` (see ``honed.compress.variants``); None or
            ``"base"`` exports the run's own model.
        formats: ``"onnx"`` always; ``"triton"`` adds ``bundle/triton/`` (a Triton model
            repository).
        opset: ONNX opset; None takes the spec's ``export.opset``, else the exporter's default.
        max_batch_size: Triton's ``max_batch_size``; None takes the spec's (64 by default).
        exporter: ``"auto"`` (dynamo, TorchScript as fallback), ``"dynamo"`` or
            ``"torchscript"``.

    Returns:
        The bundle folder.

    Raises:
        UserInputError: bad input (no model, an unknown variant or format, a corrupt file);
            nothing is written.
        ExportError: the export failed verification; nothing is written.

    Example:
        >>> export_bundle("runs/iris", formats=("onnx", "triton"))
        PosixPath('runs/iris/bundle')
    """
    from honed.export.source import resolve_source, verification_samples

    unknown = [name for name in formats if name not in FORMATS]
    if unknown:
        raise UserInputError(f"unknown export format {unknown[0]!r}; valid formats: "
                             f"{', '.join(FORMATS)}")
    if opset is not None and not OPSETS[0] <= opset <= OPSETS[1]:
        raise UserInputError(f"opset must be between {OPSETS[0]} and {OPSETS[1]}; got {opset}")
    source = resolve_source(run_dir, variant)  # every check before the first write
    settings = source.spec.get("export") or {}
    opset = opset if opset is not None else settings.get("opset")
    max_batch_size = int(max_batch_size or settings.get("max_batch_size") or 64)
    samples, where = verification_samples(source)
    root = Path(run_dir)
    work = Path(tempfile.mkdtemp(prefix=".bundle.", suffix=".partial", dir=root))
    try:
        card = _write_model(source, work, samples, opset=opset, exporter=exporter)
        card["verification"]["samples"] = where
        atomic_write_bytes(work / "preprocess.json", source.preprocess_path.read_bytes())
        if "triton" in formats:
            from honed.export.triton import write_triton_repository

            write_triton_repository(work, source.spec.get("name") or "model", source.input_shape,
                                    source.num_outputs, max_batch_size=max_batch_size)
        card = _card(source, card, formats=formats, max_batch_size=max_batch_size)
        card["files"] = _hashes(work)
        atomic_write_json(work / "card.json", card)
        from honed.export.card import read_bundle

        read_bundle(work)  # what was written is what a server will accept
        return _replace(work, root / BUNDLE_DIR)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_model(source: ExportSource, work: Path, samples: np.ndarray, *, opset: int | None,
                 exporter: str) -> dict[str, Any]:
    """Write and verify ``work/model.onnx``; return the card's model fields."""
    from honed.export.verify import verify_agreement, verify_parity

    path = work / "model.onnx"
    started = time.perf_counter()
    if source.kind == "torch":
        from honed.export.onnx import export_onnx

        result = export_onnx(source.module, source.input_shape, path, opset=opset,
                             exporter=exporter)
        exported = time.perf_counter()
        verification = verify_parity(source.module, path, samples)
        fields = {"exporter": result.exporter, "opset": result.opset}
        source.notes.extend(result.notes)
    else:
        atomic_write_bytes(path, source.onnx_path.read_bytes())
        exported = time.perf_counter()
        verification = verify_agreement(path, source.reference, samples, task=source.task)
        fields = {"exporter": "compress", "opset": _opset(path),
                  "copied_from": f"compress/{source.variant}/{source.onnx_path.name}"}
    verification["seconds"] = round(time.perf_counter() - exported, 3)
    return {**fields, "export_seconds": round(exported - started, 3),
            "verification": verification}


def _card(source: ExportSource, fields: dict[str, Any], *, formats: Sequence[str],
          max_batch_size: int) -> dict[str, Any]:
    preprocess_names = _class_names(source)
    card = {
        "format": "honed.card", "version": 1,
        "name": source.spec.get("name") or "model",
        "task": source.task,
        "variant": source.variant,
        "input": {"name": "input", "shape": list(source.input_shape), "dtype": "float32"},
        "output": {"name": "output", "shape": [source.num_outputs],
                   "kind": "logits" if source.task == "classification" else "values"},
        "class_names": preprocess_names,
        "metrics": source.metrics,
        "parameters": source.parameters,
        "spec": source.spec,
        **fields,
        "formats": list(dict.fromkeys(["onnx", *formats])),
        "versions": _versions(),
        "model": source.fingerprint,
        "notes": source.notes,
    }
    if "triton" in formats:
        card["triton"] = {"max_batch_size": max_batch_size}
    return card


def _class_names(source: ExportSource) -> list[str] | None:
    import json

    preprocess = json.loads(source.preprocess_path.read_text(encoding="utf-8"))
    names = preprocess.get("class_names") if isinstance(preprocess, dict) else None
    return None if names is None else [str(name) for name in names]


def _hashes(folder: Path) -> dict[str, str]:
    from honed.export.card import hash_files

    return hash_files(folder)


def _opset(path: Path) -> int | None:
    import onnx

    proto = onnx.load(str(path), load_external_data=False)
    return next((int(e.version) for e in proto.opset_import if e.domain in ("", "ai.onnx")),
                None)


def _versions() -> dict[str, str]:
    versions = {}
    for name in ("honed", "torch", "onnx", "onnxruntime"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    versions["python"] = platform.python_version()
    return versions


def _replace(work: Path, target: Path) -> Path:
    """Move the finished ``work`` folder to ``target``, replacing an old bundle last."""
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        os.replace(target, old)
    try:
        os.replace(work, target)
    except BaseException:
        if old.exists() and not target.exists():
            os.replace(old, target)  # put the old bundle back
        raise
    shutil.rmtree(old, ignore_errors=True)
    return target
