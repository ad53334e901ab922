"""Saving and loading models without pickle: ``weights.safetensors`` plus ``model.json``.

``model.json`` records how to rebuild the architecture (family, knobs with defaults filled,
input shape, outputs, task); the weights file holds the ``state_dict``. Loading rebuilds the
model with :func:`create_model` and copies the weights strictly, so a file can never run code.

A model whose layers were made narrower after it was built (structured pruning removes
channels) is saved with ``resized=True``: ``model.json`` then records, under ``shapes``, the
shape of every tensor that differs from a fresh build, and loading rebuilds the family, resizes
those tensors and their layers' size attributes, then loads strictly as usual.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import nn

from honed.errors import CheckpointError, ModelError
from honed.io import atomic_write_bytes, atomic_write_json
from honed.models.registry import create_model, family_reference, model_info
from honed.models.transfer import ALIASES_KEY, WEIGHTS_FILE, load_weights

__all__ = ["MODEL_FILE", "save_model", "load_model", "read_model_json", "count_parameters",
           "resize_tensors"]

MODEL_FILE = "model.json"
_FORMAT = 1  # bump when model.json changes in a way old readers cannot follow


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameter values; tied parameters count once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def save_model(model: nn.Module, folder: str | os.PathLike, *, family: str | Callable,
               knobs: Mapping[str, Any], input_shape: Sequence[int], num_outputs: int,
               task: str, extra: dict | None = None, resized: bool = False) -> Path:
    """Write ``folder/weights.safetensors`` and ``folder/model.json``, each atomically.

    The model is first checked against a fresh build of ``family`` with ``knobs``, so that a
    model that could not be loaded back is refused now rather than after a long run.

    Args:
        model: the model to save.
        folder: created if missing.
        family: a registered name, ``"package.module:function"``, or a top-level callable.
        knobs: the knobs it was built with; defaults of a registered family are filled in.
        input_shape: one example's shape.
        num_outputs: width of the output.
        task: classification, regression or forecasting.
        extra: JSON-ready facts to keep beside them (class names, metrics, ...).
        resized: accept tensors narrower or wider than a fresh build (a structurally pruned
            model) and record their shapes, so that :func:`load_model` rebuilds the same.

    Returns:
        The folder.
    """
    folder = Path(folder)
    reference = family_reference(family)
    knobs = {key: value for key, value in knobs.items() if value is not None}
    if ":" not in reference:
        knobs = {**model_info(reference).defaults, **knobs}
    # Build a twin without touching the caller's random stream (a save mid-training must not
    # change what comes next).
    with torch.random.fork_rng(devices=[]):
        twin = create_model(reference, input_shape=input_shape, num_outputs=num_outputs,
                            task=task, **knobs).state_dict()
    state = model.state_dict()
    shapes = {name: list(state[name].shape) for name, tensor in twin.items()
              if resized and name in state and state[name].dim() == tensor.dim()
              and state[name].shape != tensor.shape}
    for name, tensor in twin.items():
        if name not in state or (state[name].shape != tensor.shape and name not in shapes):
            found = list(state[name].shape) if name in state else "missing"
            raise ModelError(f"the model does not match {reference!r} built with its knobs: "
                             f"{name} is {found} in the model, {list(tensor.shape)} when rebuilt")
    if set(state) - set(twin):
        raise ModelError(f"the model does not match {reference!r} built with its knobs: it has "
                         f"{sorted(set(state) - set(twin))[0]!r}, the rebuilt one does not")
    record = {
        "format": _FORMAT,
        "family": reference,
        "knobs": knobs,
        "input_shape": list(input_shape),
        "num_outputs": int(num_outputs),
        "task": task,
        "parameters": count_parameters(model),
        "honed_version": _version(),
    }
    if shapes:
        record["shapes"] = shapes
    if extra is not None:
        record["extra"] = extra
    try:
        text = json.dumps(record)
    except (TypeError, ValueError) as error:
        raise ModelError(f"knobs and extra must be JSON-ready to save a model: {error}") from None
    tensors, aliases = _flat_state(state)
    blob = safetensors.torch.save(tensors, metadata={ALIASES_KEY: json.dumps(aliases)})
    # Weights first: model.json appearing last marks a complete save.
    atomic_write_bytes(folder / WEIGHTS_FILE, blob)
    atomic_write_json(folder / MODEL_FILE, json.loads(text))
    return folder


def read_model_json(folder: str | os.PathLike) -> dict[str, Any]:
    """The ``model.json`` of a model folder, or of a run dir's ``model/`` folder."""
    folder = Path(folder)
    path = folder / MODEL_FILE
    if not path.is_file() and (folder / "model" / MODEL_FILE).is_file():
        path = folder / "model" / MODEL_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"no saved model at {folder}: {MODEL_FILE} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"cannot read {path}: {error}") from None
    needed = ("family", "knobs", "input_shape", "num_outputs", "task")
    if not isinstance(record, dict) or any(key not in record for key in needed):
        raise CheckpointError(f"{path} is not a honed model.json: it needs {', '.join(needed)}")
    version = record.get("format", _FORMAT)
    if not isinstance(version, int) or version > _FORMAT:
        raise CheckpointError(f"{path} has format {version!r}, newer than this honed "
                              f"reads ({_FORMAT}); upgrade honed")
    return record


def load_model(folder: str | os.PathLike) -> nn.Module:
    """Rebuild a model saved by :func:`save_model` and load its weights strictly.

    The model comes back in eval mode, ready to predict; call ``.train()`` to fine-tune.
    """
    record = read_model_json(folder)
    path = Path(folder)
    if not (path / MODEL_FILE).is_file():
        path = path / "model"
    try:
        model = create_model(record["family"], input_shape=record["input_shape"],
                             num_outputs=record["num_outputs"], task=record["task"],
                             **record["knobs"])
    except ModelError as error:
        raise CheckpointError(f"cannot rebuild the model saved in {path}: {error}") from None
    if record.get("shapes"):
        resize_tensors(model, record["shapes"])
    load_weights(model, path / WEIGHTS_FILE)
    return model.eval()


# size attributes that forward passes or reprs read, by the tensor that decides them
_SIZE_ATTRIBUTES = {
    nn.Linear: lambda m: {"out_features": m.weight.shape[0], "in_features": m.weight.shape[1]},
    nn.modules.conv._ConvNd: lambda m: {"out_channels": m.weight.shape[0],
                                        "in_channels": m.weight.shape[1] * m.groups},
    nn.modules.batchnorm._NormBase: lambda m: {"num_features": (
        m.running_mean if m.running_mean is not None else m.weight).shape[0]},
    nn.LayerNorm: lambda m: {"normalized_shape": tuple(m.weight.shape)},
    nn.GroupNorm: lambda m: {"num_channels": m.weight.shape[0]},
}


def resize_tensors(model: nn.Module, shapes: Mapping[str, Sequence[int]]) -> nn.Module:
    """Give the named parameters and buffers of ``model`` new (empty) tensors of ``shapes``.

    The size attributes of the layers holding them (``in_features``, ``out_channels``,
    ``num_features``, ``normalized_shape``, ...) follow, so the model computes and prints like
    one built at those sizes. The values are left for a strict ``load_state_dict`` to fill.
    """
    touched = {}
    for name, shape in shapes.items():
        owner, _, attr = name.rpartition(".")
        try:
            module = model.get_submodule(owner)
            old = getattr(module, attr)
        except AttributeError:
            old = None
        if not isinstance(old, torch.Tensor):
            raise CheckpointError(f"model.json resizes {name!r}, which the model does not "
                                  "have")
        if not (isinstance(shape, list) and len(shape) == old.dim() and all(
                isinstance(size, int) and not isinstance(size, bool) and size >= 0
                for size in shape)):
            raise CheckpointError(f"model.json gives {name!r} the shape {shape!r}; it needs "
                                  f"{old.dim()} sizes >= 0")
        new = torch.empty(shape, dtype=old.dtype, device=old.device)
        if isinstance(old, nn.Parameter):
            setattr(module, attr, nn.Parameter(new, requires_grad=old.requires_grad))
        else:
            module._buffers[attr] = new
        touched[owner] = module
    for module in touched.values():
        for kind, sizes in _SIZE_ATTRIBUTES.items():
            if isinstance(module, kind):
                for attr, value in sizes(module).items():
                    setattr(module, attr, value)
    return model


def _flat_state(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor],
                                                            dict[str, str]]:
    """Tensors safetensors accepts: tied names written once, everything else contiguous and
    owning its memory."""
    tensors: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple, str] = {}
    storages: set[int] = set()
    for name, tensor in state.items():
        tensor = tensor.detach()
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape),
               tuple(tensor.stride()), tensor.dtype)
        if key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        storage = tensor.untyped_storage()
        # A view into memory another tensor also uses (or a slice of a bigger buffer) is
        # copied, since safetensors refuses any shared storage.
        if (storage.data_ptr() in storages or not tensor.is_contiguous()
                or storage.nbytes() != tensor.numel() * tensor.element_size()):
            tensor = tensor.clone(memory_format=torch.contiguous_format)
        storages.add(tensor.untyped_storage().data_ptr())
        tensors[name] = tensor.cpu()
    return tensors, aliases


def _version() -> str:
    try:
        return metadata.version("honed")
    except metadata.PackageNotFoundError:
        return "0+unknown"
