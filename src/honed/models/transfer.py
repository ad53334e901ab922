"""Transfer learning: start from another model's weights, and freeze parts of a model by name.

Weights are read with safetensors only; nothing a user hands in is ever unpickled. Names are
``state_dict`` names (``body.0.weight``, ``head.bias``) and patterns are fnmatch patterns
(``head.*``, ``*.bias``); a pattern also matches every parameter inside a module it names
(``body`` covers ``body.0.weight``).

A model of text beside table features (:class:`~honed.models.mixed.TextWithFeatures`) names
its text model's parameters ``text.embed.embedding.weight``; patterns match them by that name
and by the text model's own (``embed.*``), and its weights load from a text-only model's file
(and the reverse) by the text model's names, so the same patterns and checkpoints serve both.
Its own layers, ``features`` and the ``head`` reading both, are new to a text-only file.
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
from honed.models.mixed import TEXT_PREFIX, TextWithFeatures

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
    tensors = _as_model_names(model, stored)
    exclude = [exclude] if isinstance(exclude, str) else list(exclude)
    errors = pattern_errors(model, exclude, [*own, *tensors], label="exclude pattern",
                            noun="weight")
    if errors:
        raise ModelError("; ".join(errors))
    new = set(_selected(model, exclude, own))
    keep = [name for name in own if name not in new]
    problems = [f"missing key {name!r} in {file}, which the model expects"
                for name in keep if name not in tensors]
    problems += [f"unexpected key {name!r} in {file}, which the model does not have"
                 for name in tensors
                 if name not in own and not _selected(model, exclude, [name])]
    problems += [f"{name} has shape {list(tensors[name].shape)} in {file}, the model expects "
                 f"{list(own[name].shape)}"
                 for name in keep if name in tensors and tensors[name].shape != own[name].shape]
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CheckpointError(f"{problems[0]}{more}; {_hint(model, stored)}")
    model.load_state_dict({name: tensors[name] for name in keep}, strict=False)
    return keep


def _as_model_names(model: nn.Module, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``tensors`` under ``model``'s names: a text-only model's weights under the ``text.``
    names of a model of text beside table features, and the reverse; other names unchanged."""
    own = model.state_dict()
    mixed = isinstance(model, TextWithFeatures)

    def rename(name: str) -> str:
        if name in own:
            return name
        if mixed and TEXT_PREFIX + name in own and TEXT_PREFIX + name not in tensors:
            return TEXT_PREFIX + name
        short = name.removeprefix(TEXT_PREFIX)
        return short if not mixed and short in own and short not in tensors else name
    return {rename(name): tensor for name, tensor in tensors.items()}


def _hint(model: nn.Module, stored: Iterable[str]) -> str:
    mixed = isinstance(model, TextWithFeatures)
    if mixed != any(name.startswith(TEXT_PREFIX) for name in stored):
        # which side reads table features: its features layer and head are new to the other
        side = ("the model reads table features beside the text, the file's did not" if mixed
                else "the file's model read table features beside the text, this one does not")
        return f"{side}: exclude its own layers, e.g. exclude=['head.*', 'features.*']"
    return "exclude names that should keep the model's own init, e.g. exclude=['head.*']"


def backbone_names(model: nn.Module, exclude: str | Iterable[str] = ()) -> list[str]:
    """The parameters :func:`load_weights` fills with ``exclude``: every one no pattern matches.

    These are the *backbone* of fine-tuning (``train.backbone_lr_factor`` scales their rate);
    the parameters an ``exclude`` pattern matches are the new *head*. Frozen or not makes no
    difference: a frozen backbone parameter unfrozen later trains at the backbone's rate.
    """
    names = [name for name, _ in model.named_parameters()]
    new = set(_selected(model, exclude, names))
    return [name for name in names if name not in new]


def pattern_errors(model: nn.Module, patterns: str | Iterable[str],
                   names: Iterable[str] | None = None, *, label: str = "pattern",
                   noun: str = "parameter") -> list[str]:
    """One line for each of ``patterns`` that matches none of ``names`` (default: ``model``'s
    parameters), the last naming a few of the model's; a name also matches by its text model's
    own name when ``model`` reads text beside table features."""
    params = [name for name, _ in model.named_parameters()]
    names = params if names is None else list(names)
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    lines = [f"{label} {pattern!r} matches no {noun}"
             for pattern in patterns if not _selected(model, [pattern], names)]
    if lines:
        lines[-1] += f"; the model has {_some(params)}"
    return lines


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
    return _selected(model, patterns, names)


def _selected(model: nn.Module, patterns: str | Iterable[str], names: Iterable[str]) -> list[str]:
    """The ``names`` a pattern matches; ``text.embed.weight`` of a model of text beside table
    features matches as itself and as ``embed.weight``, its text model's own name."""
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    mixed = isinstance(model, TextWithFeatures)
    return [name for name in names
            if any(_matches(spelling, pattern) for pattern in patterns
                   for spelling in {name, name.removeprefix(TEXT_PREFIX) if mixed else name})]


def _matches(name: str, pattern: str) -> bool:
    # "body" and "body.0" select everything below them, as a module path would.
    parts = name.split(".")
    return any(fnmatchcase(".".join(parts[:end]), pattern) for end in range(1, len(parts) + 1))


def _some(names: Iterable[str], limit: int = 6) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return f"{shown}, ... ({len(names)} in all)" if len(names) > limit else shown or "(none)"
