"""Transfer learning: start from another model's weights, and freeze parts of a model by name.

Weights are read with safetensors only; nothing a user hands in is ever unpickled. Names are
``state_dict`` names (``body.0.weight``, ``head.bias``) and patterns are fnmatch patterns
(``head.*``, ``*.bias``); a pattern also matches every parameter inside a module it names
(``body`` covers ``body.0.weight``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from fnmatch import fnmatchcase
from pathlib import Path

import torch
from safetensors import safe_open
from torch import nn

from honed.errors import CheckpointError, ModelError

__all__ = ["WEIGHTS_FILE", "ALIASES_KEY", "load_weights", "read_weights", "weights_path",
           "freeze", "unfreeze", "hold_frozen_norms", "backbone_names"]

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
    file = weights_path(path)
    try:
        with safe_open(str(file), framework="pt") as handle:
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
            aliases = json.loads((handle.metadata() or {}).get(ALIASES_KEY, "{}"))
    except Exception as error:  # safetensors raises several types for one cause: a bad file
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"cannot read weights from {file}: {reason}") from None
    for alias, kept in aliases.items():
        if kept in tensors:
            tensors[alias] = tensors[kept]
    return tensors


def load_weights(model: nn.Module, path: str | os.PathLike, *,
                 exclude: Iterable[str] = ()) -> list[str]:
    """Copy weights from a safetensors file into ``model``, strictly, in place.

    Every name of the model's ``state_dict`` must be in the file with the same shape, and
    every name in the file must be in the model, except names matching an ``exclude``
    pattern, which keep the model's own init (for instance a new head: ``["head.*"]``).

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
    tensors = read_weights(file)
    own = model.state_dict()
    exclude = [exclude] if isinstance(exclude, str) else list(exclude)
    for pattern in exclude:
        if not any(_matches(name, pattern) for name in [*own, *tensors]):
            raise ModelError(f"exclude pattern {pattern!r} matches no weight; the model has "
                             f"{_some(own)}")
    keep = [name for name in own if not any(_matches(name, p) for p in exclude)]
    problems = [f"missing key {name!r} in {file}, which the model expects"
                for name in keep if name not in tensors]
    problems += [f"unexpected key {name!r} in {file}, which the model does not have"
                 for name in tensors
                 if name not in own and not any(_matches(name, p) for p in exclude)]
    problems += [f"{name} has shape {list(tensors[name].shape)} in {file}, the model expects "
                 f"{list(own[name].shape)}"
                 for name in keep if name in tensors and tensors[name].shape != own[name].shape]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CheckpointError(f"{problems[0]}{more}; exclude names that should keep the "
                              f"model's own init, e.g. exclude=['head.*']")
    model.load_state_dict({name: tensors[name] for name in keep}, strict=False)
    return keep


def backbone_names(model: nn.Module, exclude: str | Iterable[str] = ()) -> list[str]:
    """The parameters :func:`load_weights` fills with ``exclude``: every one no pattern matches.

    These are the *backbone* of fine-tuning (``train.backbone_lr_factor`` scales their rate);
    the parameters an ``exclude`` pattern matches are the new *head*. Frozen or not makes no
    difference: a frozen backbone parameter unfrozen later trains at the backbone's rate.
    """
    exclude = [exclude] if isinstance(exclude, str) else list(exclude)
    return [name for name, _ in model.named_parameters()
            if not any(_matches(name, p) for p in exclude)]


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
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    names = [name for name, _ in model.named_parameters()]
    for pattern in patterns:
        if not any(_matches(name, pattern) for name in names):
            raise ModelError(f"pattern {pattern!r} matches no parameter; the model has "
                             f"{_some(names)}")
    return [name for name in names if any(_matches(name, p) for p in patterns)]


def _matches(name: str, pattern: str) -> bool:
    # "body" and "body.0" select everything below them, as a module path would.
    parts = name.split(".")
    return any(fnmatchcase(".".join(parts[:end]), pattern) for end in range(1, len(parts) + 1))


def _some(names: Iterable[str], limit: int = 6) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return f"{shown}, ... ({len(names)} in all)" if len(names) > limit else shown or "(none)"
