"""User factories: a callable or a ``"package.module:function"`` string used as a family.

They are not in the registry, so nothing is known about their knobs; what can be checked
up front is that the import works and that the call's keywords bind to the signature.
A string imports its module only when the user allowed it (see :mod:`honed.spec.imports`).
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Mapping
from typing import Any

from torch import nn

from honed.errors import ModelError
from honed.spec.imports import import_refusal

__all__ = ["resolve_callable", "loaded_callable", "check_binds", "qualified"]

Factory = Callable[..., nn.Module]


def resolve_callable(family: str | Factory) -> Factory:
    """The callable itself, or the object that ``"package.module:function"`` names.

    Raises:
        ModelError: The import is not allowed, fails, or does not give a callable.
    """
    if callable(family):
        return family
    reason = import_refusal(family)
    if reason:
        raise ModelError(f"model factory {reason}")
    module_name, _, attr = family.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            target = getattr(target, part)
    except Exception as error:  # whatever fails while importing user code is the user's to fix
        reason = str(error).splitlines()[0] if str(error) else ""
        raise ModelError(f"cannot import model factory {family!r}: "
                         f"{type(error).__name__}: {reason}") from None
    if not callable(target):
        raise ModelError(f"model factory {family!r} is a {type(target).__name__}, not callable")
    return target


def loaded_callable(reference: str) -> Any:
    """What ``"module:qualname"`` names among modules already imported (None if nothing);
    imports nothing, so it needs no permission."""
    module_name, _, attr = reference.partition(":")
    target: Any = sys.modules.get(module_name)
    for part in attr.split("."):
        target = getattr(target, part, None)
    return target


def check_binds(fn: Factory, input_shape: tuple[int, ...], num_outputs: int, task: str,
                knobs: Mapping[str, Any]) -> None:
    """Refuse a call that would fail on its keywords, before any user code runs."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    try:
        signature.bind(input_shape=input_shape, num_outputs=num_outputs, task=task, **knobs)
    except TypeError as error:
        raise ModelError(f"model factory {qualified(fn)} cannot be called as fn(input_shape=..., "
                         f"num_outputs=..., task=..., **knobs): {error}") from None


def qualified(fn: Any) -> str:
    """``module:qualname`` of a callable, the form :func:`resolve_callable` reads back."""
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"
