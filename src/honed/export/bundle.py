"""``export_bundle``: a run's model to a verified bundle in ``DIR/bundle/``.

The bundle (format in :mod:`honed.export.card`) is written whole into a temporary folder inside
the run dir, verified, read back with :func:`~honed.export.card.read_bundle`, and only then
renamed into place; an older bundle is replaced after the new one passed. A model that fails
verification leaves nothing behind. The folder's mode follows the umask, as its files' do.

A text model's bundle also holds its tokenizer as ``tokenizer.json`` (Hugging Face's format):
``preprocess.json`` names it with its sha256 in place of the inline copy the run keeps, and the
card lists the same sha256; its ``model.onnx`` reads int64 token ids.

A bundle is shipped to other machines, so it names no absolute path of the machine that made
it: the data source (in preprocess.json and in the card's spec) and any other absolute path in
the card's spec are reduced to their last component (``/home/me/data/prices.csv`` → ``prices.csv``).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import time
import uuid
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

import numpy as np

from honed.errors import UserInputError
from honed.export.card import CARD_FORMAT, CARD_VERSION, TOKENIZER_FILE
from honed.io import atomic_write_bytes, atomic_write_json, atomic_write_text

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
    work = root / f".bundle.{uuid.uuid4().hex[:12]}.partial"
    work.mkdir()  # mode 0777 less the umask (mkdtemp's 0700 would survive the rename)
    try:
        card = _write_model(source, work, samples, opset=opset, exporter=exporter)
        card["verification"]["samples"] = where
        dtype, axes = _model_input(work / "model.onnx")
        preprocess = dict(source.preprocess)
        # the source alone: elsewhere a value may be a column name that starts with a slash
        preprocess["source"] = _without_local_paths(preprocess.get("source"))
        if preprocess.get("kind") == "text":
            preprocess["tokenizer"] = _write_tokenizer(work, preprocess["tokenizer"])
        atomic_write_json(work / "preprocess.json", preprocess)
        if "triton" in formats:
            from honed.export.triton import write_triton_repository

            write_triton_repository(work, source.spec.get("name") or "model", source.input_shape,
                                    source.num_outputs, max_batch_size=max_batch_size,
                                    input_dtype=dtype)
        card = _card(source, card, formats=formats, max_batch_size=max_batch_size)
        card["input"].update(dtype=dtype, dynamic_axes=axes)
        card["files"] = _hashes(work)
        _write_card(work / "card.json", card)
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
                             exporter=exporter, vocab_size=source.vocab_size,
                             tabular_features=source.tabular_features)
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
        "format": CARD_FORMAT, "version": CARD_VERSION,
        "name": source.spec.get("name") or "model",
        "task": source.task,
        "variant": source.variant,
        "input": {"name": "input", "shape": list(source.input_shape), "dtype": "float32",
                  "dynamic_axes": ["batch"],
                  **({"tokenizer": TOKENIZER_FILE} if source.vocab_size is not None else {})},
        "output": {"name": "output", "shape": [source.num_outputs],
                   "kind": "logits" if source.task == "classification" else "values"},
        "class_names": preprocess_names,
        "metrics": source.metrics,
        "parameters": source.parameters,
        "spec": _without_local_paths(source.spec),
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
    names = source.preprocess.get("class_names")
    return None if names is None else [str(name) for name in names]


def _model_input(path: Path) -> tuple[str, list[str]]:
    """The model file's input type (``float32``, or ``int64`` token ids) and the names of
    its dynamic axes, as the file itself declares them (a copied variant's included)."""
    import onnx

    tensor = onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type
    dtype = "int64" if tensor.elem_type == onnx.TensorProto.INT64 else "float32"
    axes = [dim.dim_param or f"axis{i}" for i, dim in enumerate(tensor.shape.dim)
            if not dim.HasField("dim_value")]
    return dtype, axes


def _write_tokenizer(work: Path, tokenizer_json: str) -> dict[str, str]:
    """Write the text model's tokenizer as ``tokenizer.json``; the reference that
    preprocess.json keeps in its place (the card lists the file's sha256 too)."""
    from honed.export.card import file_sha256

    atomic_write_text(work / TOKENIZER_FILE, tokenizer_json)
    return {"file": TOKENIZER_FILE, "sha256": file_sha256(work / TOKENIZER_FILE)}


def _write_card(path: Path, card: dict[str, Any]) -> None:
    """Write ``card`` with its own sha256, computed over the card as JSON reads it back."""
    from honed.export.card import CARD_HASH, card_sha256

    atomic_write_json(path, card)
    card = json.loads(path.read_text(encoding="utf-8"))
    card[CARD_HASH] = card_sha256(card)
    atomic_write_json(path, card)


def _without_local_paths(value: Any) -> Any:
    """``value`` with every absolute path (POSIX or Windows) cut to its last component."""
    if isinstance(value, dict):
        return {key: _without_local_paths(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_local_paths(item) for item in value]
    if isinstance(value, str) and value and "\n" not in value:
        for flavour in (PurePosixPath, PureWindowsPath):
            path = flavour(value)
            if path.is_absolute():
                return path.name
    return value


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
