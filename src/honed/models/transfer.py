"""Transfer learning: start from another model's weights, and freeze parts of a model by name.

Weights are read with safetensors only; nothing a user hands in is ever unpickled. Names and
patterns are ``state_dict`` names and fnmatch patterns, matched as :mod:`honed.models.names`
says: ``body`` covers ``body.0.weight``, and a model of text beside table features answers to
its text model's own names too (``embed.*``) and loads a text-only model's weights.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import torch
from safetensors import safe_open
from torch import nn

from honed.errors import CheckpointError, ModelError
from honed.models.names import as_model_names, exclude_hint, pattern_errors, selected

__all__ = ["WEIGHTS_FILE", "ALIASES_KEY", "load_weights", "read_weights", "weights_path",
           "weight_names", "freeze", "unfreeze", "hold_frozen_norms", "backbone_names",
           "pattern_errors"]

WEIGHTS_FILE = "weights.safetensors"
# safetensors refuses tensors that share memory, so tied weights are written once and the
# other names are listed here (JSON {alias: kept name}) in the file's metadata.
ALIASES_KEY = "honed.aliases"


def weights_path(path: str | os.PathLike) -> Path:
    """The weights file behind ``path``: the file itself, ``path/weights.safetensors``, or a
    run dir's ``path/model/weights.safetensors``."""
    path = Path(path)
    if path.is_file():
        return path
    for candidate in (path / WEIGHTS_FILE, path / "model" / WEIGHTS_FILE):
        if candidate.is_file():
            return candidate
    raise CheckpointError(f"no weights at {path}: expected a .safetensors file, a folder "
                          f"holding {WEIGHTS_FILE}, or a run dir holding model/{WEIGHTS_FILE}")


def read_weights(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Every tensor in a weights file (see :func:`weights_path`), tied names restored."""
    return _read(path, tensors=True)


def weight_names(path: str | os.PathLike) -> list[str]:
    """The names :func:`read_weights` would return, without reading a tensor."""
    return list(_read(path, tensors=False))


def _read(path: str | os.PathLike, *, tensors: bool) -> dict[str, torch.Tensor | None]:
    file = weights_path(path)
    try:
        with safe_open(str(file), framework="pt") as handle:
            found = {key: handle.get_tensor(key) if tensors else None for key in handle.keys()}
            aliases = json.loads((handle.metadata() or {}).get(ALIASES_KEY, "{}"))
    except Exception as error:  # safetensors raises several types for one cause: a bad file
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"cannot read weights from {file}: {reason}") from None
    for alias, kept in aliases.items():
        if kept in found:
            found[alias] = found[kept]
    return found


def load_weights(model: nn.Module, path: str | os.PathLike, *,
                 exclude: Iterable[str] = ()) -> list[str]:
    """Copy weights from a safetensors file into ``model``, strictly, in place.

    Every name of the model's ``state_dict`` must be in the file with the same shape, and
    every name in the file must be in the model, except names matching an ``exclude``
    pattern, which keep the model's own init (for instance a new head: ``["head.*"]``).
    A text-only model's weights fill the text part of a model of text beside table features,
    and the reverse; that model's ``features`` and ``head`` are then new (exclude them).

    Args:
        model: the model to fill.
        path: a ``.safetensors`` file, a folder holding ``weights.safetensors``, or a run dir.
        exclude: fnmatch patterns of names to leave alone.

    Returns:
        The names copied, in the model's order.

    Raises:
        CheckpointError: the file is missing, unreadable, or does not fit; one line naming
            the file and the first problem.
        ModelError: an ``exclude`` pattern matches no name in the model or the file.
    """
    file = weights_path(path)
    own = model.state_dict()
    stored = read_weights(file)
    tensors = as_model_names(model, stored)
    exclude = [exclude] if isinstance(exclude, str) else list(exclude)
    errors = pattern_errors(model, exclude, [*own, *tensors], label="exclude pattern",
                            noun="weight")
    if errors:
        raise ModelError("; ".join(errors))
    new = set(selected(model, exclude, own))
    keep = [name for name in own if name not in new]
    problems = {name: f"missing key {name!r} in {file}, which the model expects"
                for name in keep if name not in tensors}
    problems |= {name: f"unexpected key {name!r} in {file}, which the model does not have"
                 for name in tensors
                 if name not in own and not selected(model, exclude, [name])}
    problems |= {name: f"{name} has shape {list(tensors[name].shape)} in {file}, the model "
                       f"expects {list(own[name].shape)}"
                 for name in keep if name in tensors and tensors[name].shape != own[name].shape}
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CheckpointError(f"{next(iter(problems.values()))}{more}; "
                              f"{exclude_hint(model, stored, problems, exclude)}")
    model.load_state_dict({name: tensors[name] for name in keep}, strict=False)
    return keep


def backbone_names(model: nn.Module, exclude: str | Iterable[str] = ()) -> list[str]:
    """The parameters :func:`load_weights` fills with ``exclude``: every one no pattern matches.

    These are the *backbone* of fine-tuning (``train.backbone_lr_factor`` scales their rate);
    the parameters an ``exclude`` pattern matches are the new *head*. Frozen or not makes no
    difference: a frozen backbone parameter unfrozen later trains at the backbone's rate.
    """
    names = [name for name, _ in model.named_parameters()]
    new = set(selected(model, exclude, names))
    return [name for name in names if name not in new]


def freeze(model: nn.Module, patterns: str | Iterable[str]) -> list[str]:
    """Stop gradients to the parameters whose names match ``patterns``; returns their names.

    A BatchNorm layer whose parameters are all frozen would still update its running
    statistics in train mode; honed's trainer holds those in eval mode each epoch (see
    :func:`hold_frozen_norms`), so a frozen layer is frozen entirely.

    Raises:
        ModelError: a pattern matches no parameter (the message lists a few names).
    """
    names = _select(model, patterns)
    for name, param in model.named_parameters():
        if name in names:
            param.requires_grad_(False)
    return names


def hold_frozen_norms(model: nn.Module) -> list[str]:
    """Put BatchNorm layers whose parameters are all frozen in eval mode; returns their names.

    Call it after ``model.train()``: their running statistics then stop moving with the new
    data, as their weights do. A layer without parameters (``affine=False``) is left alone:
    nothing says whether it was meant to be frozen.
    """
    held = []
    for name, module in model.named_modules():
        params = list(module.parameters(recurse=False))
        if (isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats
                and params and not any(p.requires_grad for p in params)):
            module.eval()
            held.append(name)
    return held


def unfreeze(model: nn.Module, patterns: str | Iterable[str] | None = None) -> list[str]:
    """Let gradients reach the parameters matching ``patterns`` (all when ``None``) again."""
    if patterns is None:
        names = [name for name, _ in model.named_parameters()]
    else:
        names = _select(model, patterns)
    for name, param in model.named_parameters():
        if name in names:
            param.requires_grad_(True)
    return names


def _select(model: nn.Module, patterns: str | Iterable[str]) -> list[str]:
    names = [name for name, _ in model.named_parameters()]
    errors = pattern_errors(model, patterns, names)
    if errors:
        raise ModelError("; ".join(errors))
    return selected(model, patterns, names)
