"""The inline search-space notation: find, check and resolve dimensions in a raw spec.

Any value of a spec may be a dimension::

    lr: {float: [1.0e-4, 1.0e-1], log: true}
    depth: {int: [1, 4]}
    activation: {choice: [relu, gelu]}
    optimizer: {choice: [{name: sgd, momentum: {float: [0.8, 0.99]}}, {name: adamw}]}

A ``choice`` of mappings makes a conditional space: dimensions inside an option exist only when
that option is picked. ``resolve`` walks a raw spec and asks a ``pick`` function for the value of
each dimension it meets, so the same walk serves the default point and an Optuna trial
(``pick = lambda dim: trial.suggest_...(dim.name, ...)``).

Default point (what ``honed train`` uses for a spec that still holds dimensions): the
dimension's ``default`` when written; else the first option of a ``choice``; else the middle
of the range — the geometric mean when ``log: true`` — rounded for ``int``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Dimension", "is_dimension", "find_dimensions", "flatten", "resolve", "default_value",
           "option_label", "option_index"]

KINDS = ("float", "int", "choice")
_OPTIONAL_KEYS = {"log", "step", "default"}


@dataclass(frozen=True)
class Dimension:
    """One searchable value.

    Attributes:
        name: unique name, also the Optuna parameter name; inside a conditional option it is
            qualified by the option, e.g. ``train.optimizer[sgd].momentum``.
        path: dotted location in the spec, e.g. ``train.optimizer.momentum``.
    """

    name: str
    path: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple[Any, ...] = ()
    default: Any = None
    # dimensions nested inside each option of a choice of mappings, by option label
    nested: dict[str, list[Dimension]] = field(default_factory=dict, compare=False)

    def default_value(self) -> Any:
        """The value this dimension takes at the default point."""
        return default_value(self)

    def candidates(self) -> list[Any]:
        """Values that bound what the dimension can take, for validating it against the schema."""
        if self.kind == "choice":
            return list(self.choices)
        return [self.low, self.high]

    def option_label(self, index: int) -> str:
        """The label of option ``index``, the key of its nested dimensions (see _parse_choice)."""
        labels = [option_label(option, i) for i, option in enumerate(self.choices)]
        return labels[index] if len(set(labels)) == len(labels) else str(index)


def is_dimension(node: Any) -> bool:
    """True when ``node`` is written in the search-space notation."""
    return isinstance(node, Mapping) and any(kind in node for kind in KINDS)


def option_label(option: Any, index: int) -> str:
    """A readable, stable label for a choice option (the ``name`` of a mapping when it has one)."""
    if isinstance(option, Mapping):
        name = option.get("name", option.get("family"))
        return str(name) if isinstance(name, (str, int)) and not isinstance(name, bool) else str(index)
    return str(index)


def find_dimensions(raw: Any, errors: list[str] | None = None, *, _path: str = "",
                    _name: str = "") -> list[Dimension]:
    """Every dimension in ``raw``, checked; problems are appended to ``errors``.

    With ``errors=None`` the first problem raises :class:`honed.errors.SpecError`.
    """
    collect: list[str] = [] if errors is None else errors
    found: list[Dimension] = []
    if is_dimension(raw):
        dim = _parse(raw, _path, _name, collect)
        if dim is not None:
            found.append(dim)
    elif isinstance(raw, Mapping):
        for key, value in raw.items():
            found += find_dimensions(value, collect, _path=_join(_path, key),
                                     _name=_join(_name, key))
    elif isinstance(raw, list):
        for index, value in enumerate(raw):
            found += find_dimensions(value, collect, _path=f"{_path}[{index}]",
                                     _name=f"{_name}[{index}]")
    if errors is None and collect:
        from honed.errors import SpecError

        raise SpecError(collect)
    return found


def flatten(dims: list[Dimension]) -> list[Dimension]:
    """Every dimension, conditional ones included, each parent before what it holds."""
    out: list[Dimension] = []
    for dim in dims:
        out.append(dim)
        for inner in dim.nested.values():
            out += flatten(inner)
    return out


def resolve(raw: Any, pick: Callable[[Dimension], Any] | None = None) -> Any:
    """A copy of ``raw`` with every dimension replaced by ``pick(dim)`` (default point if None).

    Dimensions nested in the picked option of a conditional choice are resolved too; those in
    options not picked are never asked for.
    """
    pick = pick or default_value
    dims = {dim.path: dim for dim in find_dimensions(raw)}
    return _resolve(raw, "", dims, pick)


def default_value(dim: Dimension) -> Any:
    """The documented default point of one dimension."""
    if dim.default is not None:
        return dim.default
    if dim.kind == "choice":
        return dim.choices[0]
    low, high = float(dim.low), float(dim.high)
    middle = math.sqrt(low * high) if dim.log else (low + high) / 2.0
    if dim.step:
        middle = low + round((middle - low) / dim.step) * dim.step
    return int(round(middle)) if dim.kind == "int" else middle


def _resolve(node: Any, path: str, dims: dict[str, Dimension], pick: Callable) -> Any:
    if is_dimension(node):
        dim = dims[path]
        value = pick(dim)
        if dim.kind == "choice" and isinstance(value, Mapping):
            # conditional option: resolve what it holds, names qualified by the option
            index = option_index(dim.choices, value)
            label = dim.option_label(index)
            inner = {d.path: d for d in dim.nested.get(label, [])}
            return _resolve(dict(value), path, inner, pick) if inner else _copy(value)
        return _copy(value)
    if isinstance(node, Mapping):
        return {key: _resolve(value, _join(path, key), dims, pick) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(value, f"{path}[{i}]", dims, pick) for i, value in enumerate(node)]
    return node


def _parse(raw: Mapping, path: str, name: str, errors: list[str]) -> Dimension | None:
    where = path or "<root>"
    kinds = [kind for kind in KINDS if kind in raw]
    unknown = sorted(set(raw) - set(KINDS) - _OPTIONAL_KEYS, key=str)
    if len(kinds) > 1:
        errors.append(f"{where} must use one of float, int, choice; got {', '.join(kinds)}")
        return None
    if unknown:
        errors.append(f"{where} has unknown search keys {unknown}; allowed: log, step, default")
        return None
    kind = kinds[0]
    if kind == "choice":
        return _parse_choice(raw, path, name, errors)
    return _parse_range(raw, kind, path, name, errors)


def _finite(value: float) -> bool:
    """Whether ``value`` is a number a float holds: not inf, not nan, no huge integer."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _parse_range(raw: Mapping, kind: str, path: str, name: str, errors: list[str]) -> Dimension | None:
    bounds, log, step = raw[kind], raw.get("log", False), raw.get("step")
    number = int if kind == "int" else (int, float)
    if (not isinstance(bounds, list) or len(bounds) != 2
            or not all(isinstance(b, number) and not isinstance(b, bool) for b in bounds)):
        errors.append(f"{path}.{kind} must be a list [low, high] of two {kind}s; got {bounds!r}")
        return None
    low, high = bounds
    if not isinstance(log, bool):
        errors.append(f"{path}.log must be true or false; got {log!r}")
        return None
    bad = []
    if not all(_finite(b) for b in bounds):
        bad.append(f"{path}.{kind} bounds must be finite; got {bounds}")
    elif low > high:
        bad.append(f"{path}.{kind} is an inverted range: low {low} > high {high}")
    elif low == high and kind == "float":
        bad.append(f"{path}.{kind} is an empty range: low == high == {low}")
    if log and min(low, high) <= 0:
        bad.append(f"{path}.{kind} with log: true needs bounds > 0; got {bounds}")
    if step is not None and (isinstance(step, bool) or not isinstance(step, number) or step <= 0):
        bad.append(f"{path}.step must be a positive {kind}; got {step!r}")
    if step is not None and log:
        bad.append(f"{path} cannot have both step and log: true")
    default = raw.get("default")
    if default is not None and not bad and (
            isinstance(default, bool) or not isinstance(default, number)
            or not low <= default <= high):
        bad.append(f"{path}.default must be a {kind} in [{low}, {high}]; got {default!r}")
    errors.extend(bad)
    if bad:
        return None
    return Dimension(name=name, path=path, kind=kind, low=low, high=high, log=log, step=step,
                     default=default)


def _parse_choice(raw: Mapping, path: str, name: str, errors: list[str]) -> Dimension | None:
    options = raw["choice"]
    if not isinstance(options, list) or not options:
        errors.append(f"{path}.choice must be a non-empty list of options; got {options!r}")
        return None
    if set(raw) - {"choice", "default"}:
        errors.append(f"{path}: a choice takes no log or step")
        return None
    seen: list[Any] = []
    for option in options:
        if option in seen:
            errors.append(f"{path}.choice lists {option!r} twice")
            return None
        seen.append(option)
    default = raw.get("default")
    if default is not None and default not in options:
        errors.append(f"{path}.default must be one of the choices; got {default!r}")
        return None
    nested: dict[str, list[Dimension]] = {}
    dim = Dimension(name=name, path=path, kind="choice", choices=tuple(options), default=default,
                    nested=nested)
    for index, option in enumerate(options):
        if isinstance(option, Mapping):
            label = dim.option_label(index)
            inner = find_dimensions(option, errors, _path=path, _name=f"{name}[{label}]")
            if inner:
                nested[label] = inner
    return dim


def option_index(options: tuple, value: Any) -> int:
    """The position of ``value`` among a choice's ``options``."""
    for index, option in enumerate(options):
        if option == value:
            return index
    raise ValueError(f"{value!r} is not one of the options")


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
