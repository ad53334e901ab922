"""The model registry: ``register_model`` / ``create_model`` / ``list_models`` / ``model_info``.

A family is a factory ``fn(input_shape, num_outputs, *, task, **knobs) -> nn.Module`` with an
entry that says which tasks and input kinds it serves and which knobs it takes, so that a bad
knob or an unserved input is refused with the valid choices before anything is built.
"""

from __future__ import annotations

import copy
import difflib
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from honed.data.dataset import INPUT_KINDS, TASKS
from honed.errors import ModelError
from honed.models._checks import input_kind, one_of, positive_int
from honed.models._factories import (
    Factory,
    check_binds,
    loaded_callable,
    qualified,
    resolve_callable,
)

__all__ = ["ModelInfo", "register_model", "create_model", "list_models", "model_info",
           "family_reference"]


@dataclass(frozen=True)
class ModelInfo:
    """What ``honed list models`` shows for one family."""

    name: str
    description: str
    tasks: tuple[str, ...]
    kinds: tuple[str, ...]
    knobs: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[str, tuple[ModelInfo, Factory]] = {}
# Text is opt-in: a family that reads token ids must take a vocab_size knob.
_DEFAULT_KINDS = tuple(kind for kind in INPUT_KINDS if kind != "text")


def register_model(name: str, *, description: str, tasks: Sequence[str] = TASKS,
                   kinds: Sequence[str] = _DEFAULT_KINDS, knobs: Sequence[str] | Mapping[str, Any]
                   | None = None) -> Callable[[Factory], Factory]:
    """Decorator that adds a factory to the registry under ``name``.

    Args:
        name: the family name used in specs (no ``:``, which marks ``module:function``).
        description: one line for ``honed list models``.
        tasks: the tasks it serves (classification, regression, forecasting).
        kinds: the input kinds it serves (table, sequence, image, text: token ids ``(T,)``
            built with a ``vocab_size`` knob, which the factory must take).
        knobs: knob names whose defaults are read from the factory's keyword arguments, or a
            mapping of name to default for a factory that takes ``**knobs``. ``None`` takes
            every keyword argument that has a default.

    Example:
        >>> @register_model("tiny", description="One linear layer.", kinds=["table"])
        ... def tiny(input_shape, num_outputs, *, task="classification", bias=True):
        ...     return nn.Linear(input_shape[0], num_outputs, bias=bias)
    """
    if not name or ":" in name or "\n" in description or not description.strip():
        raise ModelError(f"model family {name!r} needs a name without ':' and a one-line "
                         f"description; got {description!r}")
    tasks = (tasks,) if isinstance(tasks, str) else tuple(tasks)
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    for task in tasks:
        one_of(f"model family {name!r} task", task, TASKS)
    for kind in kinds:
        one_of(f"model family {name!r} kind", kind, INPUT_KINDS)

    def decorator(fn: Factory) -> Factory:
        defaults = _knob_defaults(name, fn, knobs)
        if "text" in kinds and "vocab_size" not in defaults:
            raise ModelError(f"model family {name!r} lists the text kind, so its factory must "
                             "take a vocab_size=None knob")
        old = _REGISTRY.get(name)
        # Re-running the same definition (a notebook cell, a reload) replaces it; another
        # factory under a taken name is almost surely a clash.
        if old is not None and qualified(old[1]) != qualified(fn):
            raise ModelError(f"model family {name!r} is already registered by "
                             f"{qualified(old[1])}; choose another name")
        info = ModelInfo(name=name, description=description.strip(), tasks=tasks, kinds=kinds,
                         knobs=tuple(defaults), defaults=defaults)
        _REGISTRY[name] = (info, fn)
        return fn

    return decorator


def create_model(family: str | Factory, *, input_shape: Sequence[int], num_outputs: int,
                 task: str = "classification", **knobs: Any) -> nn.Module:
    """Build a model that maps float32 ``(B, *input_shape)`` to ``(B, num_outputs)``.

    Args:
        family: a registered name, a ``"package.module:function"`` string, or a callable
            called as ``fn(input_shape=..., num_outputs=..., task=..., **knobs)``.
        input_shape: one example's shape: ``(F,)``, ``(T, C)`` or ``(C, H, W)``; for text,
            ``(max_length,)`` token ids, with the ``vocab_size`` knob set.
        num_outputs: classes for classification, targets for regression, horizon x targets
            for forecasting.
        task: classification, regression or forecasting.
        **knobs: the family's knobs; ``None`` means the family's default.

    Example:
        >>> import torch
        >>> create_model("mlp", input_shape=(4,), num_outputs=3, hidden=16)(torch.zeros(2, 4)).shape
        torch.Size([2, 3])
    """
    one_of("task", task, TASKS)
    input_shape = tuple(input_shape)
    tabular = knobs.pop("tabular_features", None)
    if tabular:  # text beside table features: the family reads the ids, a wrapper the rest
        return _with_features(family, input_shape, num_outputs, task, tabular, knobs)
    kind = input_kind(input_shape, text=knobs.get("vocab_size") is not None)
    num_outputs = positive_int("num_outputs", num_outputs)
    knobs = {key: value for key, value in knobs.items() if value is not None}
    if not callable(family) and not isinstance(family, str):
        raise ModelError(f"model family must be a name, 'package.module:function' or a "
                         f"callable; got {type(family).__name__}")
    if callable(family) or ":" in family:
        fn = resolve_callable(family)
        check_binds(fn, input_shape, num_outputs, task, knobs)
        model = fn(input_shape=input_shape, num_outputs=num_outputs, task=task, **knobs)
        name = qualified(fn)
    else:
        info, fn = _lookup(family)
        _check_fits(info, task, kind, input_shape, knobs)
        try:
            model = fn(input_shape, num_outputs, task=task, **{**info.defaults, **knobs})
        except ModelError as error:
            raise ModelError(f"model family {family!r}: {error}") from None
        name = family
    if not isinstance(model, nn.Module):
        raise ModelError(f"model factory {name} returned {type(model).__name__}, not a torch nn.Module")
    return model


def _with_features(family: str | Factory, input_shape: tuple, num_outputs: int, task: str,
                   tabular: Any, knobs: dict[str, Any]) -> nn.Module:
    """A text family over ``(T,)`` ids wrapped to read ``[ids (T) | features (k)]``."""
    from honed.models.mixed import TextWithFeatures

    tabular = positive_int("tabular_features", tabular)
    if knobs.get("vocab_size") is None:
        raise ModelError("tabular_features applies to text models (with vocab_size) only")
    if len(input_shape) != 1 or input_shape[0] <= tabular:
        raise ModelError(f"input_shape {input_shape} leaves no token ids before "
                         f"{tabular} table features")
    text = create_model(family, input_shape=(input_shape[0] - tabular,),
                        num_outputs=num_outputs, task=task, **knobs)
    try:
        return TextWithFeatures(text, tabular, num_outputs)
    except ModelError as error:
        raise ModelError(f"model family {family!r}: {error}") from None


def list_models() -> list[ModelInfo]:
    """Every registered family, sorted by name."""
    return [copy.deepcopy(info) for _, (info, _) in sorted(_REGISTRY.items())]


def model_info(name: str) -> ModelInfo:
    """The registry entry of one family; unknown names raise :class:`ModelError`."""
    return copy.deepcopy(_lookup(name)[0])


def family_reference(family: str | Factory) -> str:
    """A string that :func:`create_model` turns back into ``family`` (for ``model.json``)."""
    if isinstance(family, str):
        if ":" not in family:
            _lookup(family)
        return family
    reference = qualified(family)
    if loaded_callable(reference) is not family:
        raise ModelError(f"cannot record model factory {reference} by name: register it or "
                         f"define it at the top level of an importable module")
    return reference


def _lookup(name: str) -> tuple[ModelInfo, Factory]:
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ModelError(f"unknown model family {name!r}{hint}; choose one of "
                         f"{', '.join(sorted(_REGISTRY))}, or give 'package.module:function'")
    return _REGISTRY[name]


def _check_fits(info: ModelInfo, task: str, kind: str, shape: tuple[int, ...],
                knobs: Mapping[str, Any]) -> None:
    if task not in info.tasks:
        raise ModelError(f"model family {info.name!r} does not do {task}; it does "
                         f"{', '.join(info.tasks)}")
    if kind not in info.kinds:
        others = [name for name, (other, _) in sorted(_REGISTRY.items()) if kind in other.kinds]
        raise ModelError(f"model family {info.name!r} cannot take {kind} input of shape {shape}; "
                         f"it takes {', '.join(info.kinds)} (for {kind}s use one of "
                         f"{', '.join(others)})")
    for key in knobs:
        if key not in info.defaults:
            raise ModelError(f"model family {info.name!r} takes no knob {key!r}; its knobs are "
                             f"{', '.join(info.knobs) or '(none)'}")


def _knob_defaults(name: str, fn: Factory,
                   knobs: Sequence[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    params = inspect.signature(fn).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    if "task" not in params and not takes_any:
        raise ModelError(f"model family {name!r}: its factory must take a task= keyword, as "
                         f"fn(input_shape, num_outputs, *, task, **knobs)")
    fixed = ("input_shape", "num_outputs", "task")
    with_defaults = {key: p.default for key, p in params.items()
                     if p.default is not p.empty and key not in fixed}
    if knobs is None:
        return with_defaults
    if isinstance(knobs, Mapping):
        defaults = dict(knobs)
        unknown = [key for key in defaults if key not in params and not takes_any]
    else:
        defaults = {key: with_defaults[key] for key in knobs if key in with_defaults}
        unknown = [key for key in knobs if key not in with_defaults]
    if unknown:
        raise ModelError(f"model family {name!r} lists knob {unknown[0]!r}, which its factory "
                         f"does not take with a default")
    return defaults
