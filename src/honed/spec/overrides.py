"""Dotted ``KEY=VALUE`` overrides from the command line.

Values are parsed as YAML, so ``train.epochs=5``, ``model.activation=gelu`` and
``model.dropout={float: [0.2, 0.5]}`` all work. A key that passes through a conditional
``choice`` of mappings is set in every option (``train.optimizer.lr=0.01`` fixes the learning
rate whichever optimizer is picked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import yaml

from honed.errors import SpecError
from honed.spec.space import is_dimension
from honed.spec.yaml_io import SpecLoader

__all__ = ["parse_override", "apply_overrides", "apply_values"]


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``a.b.c=value`` into the key path and the YAML-parsed value."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SpecError(f"override {text!r} must be KEY=VALUE, e.g. train.epochs=5")
    parts = key.split(".")
    if any(not part for part in parts):
        raise SpecError(f"override key {key!r} has an empty part")
    try:
        parsed = yaml.load(value, Loader=SpecLoader) if value.strip() else ""
    except yaml.YAMLError as exc:
        raise SpecError(f"override {key}: cannot parse value {value!r}: {exc.problem}") from None
    return parts, parsed


def apply_overrides(raw: dict, overrides: Iterable[str]) -> dict:
    """Return a copy of ``raw`` with every override applied; all bad overrides reported at once."""
    return _apply(raw, (partial(parse_override, text) for text in overrides))


def apply_values(raw: dict, values: Mapping[str, Any]) -> dict:
    """Like :func:`apply_overrides` with Python values: ``{"train.optimizer.lr": 1e-3}``."""
    return _apply(raw, (partial(_dotted, key, value) for key, value in values.items()))


def _apply(raw: dict, changes: Iterable[Callable[[], tuple[list[str], Any]]]) -> dict:
    """A copy of ``raw`` with each change (which names its key path and value) set."""
    result = _copy(raw)
    errors: list[str] = []
    for change in changes:
        try:
            parts, value = change()
            _set(result, parts, value, [])
        except SpecError as exc:
            errors.extend(exc.errors)
    if errors:
        raise SpecError(errors)
    return result


def _dotted(key: str, value: Any) -> tuple[list[str], Any]:
    parts = key.split(".")
    if any(not part for part in parts):
        raise SpecError(f"key {key!r} has an empty part")
    return parts, value


def _set(node: Any, parts: list[str], value: Any, done: list[str]) -> None:
    where = ".".join(done) or "<root>"
    if is_dimension(node) and "choice" in node:
        options = [o for o in node["choice"] if isinstance(o, dict)]
        if not options:
            raise SpecError(f"override {'.'.join(done + parts)}: {where} is a choice of "
                            f"plain values; set {where} itself")
        for option in options:
            _set(option, parts, value, done)
        return
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):
        if not head.isdigit() or int(head) >= len(node):
            raise SpecError(f"override {'.'.join(done + parts)}: {where} is a list of "
                            f"{len(node)} items; {head!r} is not an index")
        key: Any = int(head)
    elif isinstance(node, dict):
        key = head
    else:
        raise SpecError(f"override {'.'.join(done + parts)}: {where} holds {node!r}, "
                        "not a mapping")
    if not rest:
        node[key] = value
        return
    if isinstance(node, dict) and node.get(key) is None:
        node[key] = {}  # e.g. train.ema.decay=0.99 when ema was off
    _set(node[key], rest, value, done + [head])


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
