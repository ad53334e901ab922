"""Which parameter names a fine-tuning pattern selects, and a weights file's names as a model's.

Names are ``state_dict`` names (``body.0.weight``, ``head.bias``) and patterns are fnmatch
patterns (``head.*``, ``*.bias``); a pattern also matches every parameter inside a module it
names (``body`` covers ``body.0.weight``).

A model of text beside table features (:class:`~honed.models.mixed.TextWithFeatures`) names its
text model's parameters ``text.<the text model's name>`` (``text.embed.embedding.weight``); its
own layers are ``features`` and the ``head`` reading both. Patterns match its names as they are
and by the text model's own names (``embed.*``, ``rnn``), and a text-only model's weights map
onto its text part (and the reverse), so that the patterns and checkpoints documented for a
text family mean the same with and without table features. The alternative, a wrapper that
renamed its parameters, would change the names of every mixed run already saved.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

import torch
from torch import nn

from honed.models.mixed import TEXT_PREFIX, TextWithFeatures

__all__ = ["selected", "pattern_errors", "as_model_names", "exclude_hint", "some_names"]


def selected(model: nn.Module, patterns: str | Iterable[str], names: Iterable[str]) -> list[str]:
    """The ``names`` a pattern matches; ``text.embed.weight`` of a model of text beside table
    features matches as itself and as ``embed.weight``, its text model's own name."""
    patterns = [patterns] if isinstance(patterns, str) else list(patterns)
    mixed = isinstance(model, TextWithFeatures)
    return [name for name in names
            if any(_matches(spelling, pattern) for pattern in patterns
                   for spelling in {name, name.removeprefix(TEXT_PREFIX) if mixed else name})]


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
             for pattern in patterns if not selected(model, [pattern], names)]
    if lines:
        lines[-1] += f"; the model has {some_names(params)}"
    return lines


def as_model_names(model: nn.Module, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
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


def exclude_hint(model: nn.Module, stored: Iterable[str], problems: Iterable[str],
                 exclude: list[str]) -> str:
    """What to exclude: the top-level layers (by the text model's names) of every problem."""
    mixed = isinstance(model, TextWithFeatures)
    layers = [f"{(name.removeprefix(TEXT_PREFIX) if mixed else name).split('.')[0]}.*"
              for name in problems]
    patterns = list(dict.fromkeys([*exclude, *layers]))
    side = ""
    if (mixed != any(name.startswith(TEXT_PREFIX) for name in stored)
            and {"features.*", "head.*"} & set(layers)):
        # one side reads table features: its features layer and head are new to the other
        side = ("the model reads table features beside the text, the file's did not; " if mixed
                else "the file's model read table features beside the text, this one does not; ")
    return f"{side}exclude the layers that keep the model's own init, e.g. exclude={patterns}"


def some_names(names: Iterable[str], limit: int = 6) -> str:
    """Up to ``limit`` of ``names``, and how many there are in all."""
    names = list(names)
    shown = ", ".join(names[:limit])
    return f"{shown}, ... ({len(names)} in all)" if len(names) > limit else shown or "(none)"


def _matches(name: str, pattern: str) -> bool:
    # "body" and "body.0" select everything below them, as a module path would.
    parts = name.split(".")
    return any(fnmatchcase(".".join(parts[:end]), pattern) for end in range(1, len(parts) + 1))
