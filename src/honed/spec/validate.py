"""Turn pydantic's validation errors into honed's one-line messages, all at once.

``validate_point`` checks one concrete spec. ``validate_template`` checks a spec that still holds
search dimensions: the default point, then each dimension's bounds and options substituted in
turn, so ``lr: {float: [-1, 1]}`` is caught although the default point may be fine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from honed.errors import SpecError
from honed.spec.schema import Spec
from honed.spec.space import Dimension, find_dimensions, flatten, is_dimension, resolve

__all__ = ["validate_point", "validate_template", "format_error", "SEARCHABLE_SECTIONS"]

#: where search dimensions may be written: what one trial of ``honed tune`` trains
SEARCHABLE_SECTIONS = ("seed", "data", "model", "train")


def validate_point(raw: Mapping) -> Spec:
    """Validate a spec without dimensions; raise :class:`SpecError` listing every problem."""
    try:
        return Spec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(_messages(exc)) from None


def validate_template(raw: Mapping) -> Spec:
    """Validate a spec that may hold dimensions; return the spec at its default point."""
    errors: list[str] = []
    clean, bad_paths = _without_bad_dimensions(raw, errors)
    dims = find_dimensions(clean)
    for dim in dims:
        if dim.path.split(".")[0].split("[")[0] not in SEARCHABLE_SECTIONS:
            errors.append(f"{dim.path} is a search dimension, but only {', '.join(SEARCHABLE_SECTIONS)} "
                          "may hold them (compress.search takes the ranges of the compression "
                          "search)")
    dim_paths = {dim.path for dim in flatten(dims)} | bad_paths
    spec = None
    try:
        spec = Spec.model_validate(resolve(clean))
    except ValidationError as exc:
        # errors at a dimension's own path are reported by its probes below, with the bound
        errors += [m for m in _messages(exc, skip=dim_paths) if m not in errors]
    for dim in flatten(dims):
        for value, role in _probes(dim):
            probe = resolve(clean, lambda d, dim=dim, value=value: value if d.name == dim.name
                            else d.default_value())
            try:
                Spec.model_validate(probe)
            except ValidationError as exc:
                nested = {d.path for inner in dim.nested.values() for d in flatten(inner)}
                for message in _messages(exc, role=role, only=dim.path, skip=nested):
                    if message not in errors:
                        errors.append(message)
    if errors or spec is None:
        raise SpecError(errors)
    return spec


def _without_bad_dimensions(raw: Any, errors: list[str], path: str = "") -> tuple[Any, set[str]]:
    """Replace dimensions written wrongly by a placeholder, so the rest can still be checked."""
    if is_dimension(raw):
        own: list[str] = []
        find_dimensions(raw, own, _path=path, _name=path)
        if own:
            errors.extend(own)
            return _PLACEHOLDER, {path}
        return raw, set()
    if isinstance(raw, Mapping):
        out, bad = {}, set()
        for key, value in raw.items():
            out[key], inner = _without_bad_dimensions(value, errors, f"{path}.{key}" if path else str(key))
            bad |= inner
        return out, bad
    if isinstance(raw, list):
        items, bad = [], set()
        for index, value in enumerate(raw):
            item, inner = _without_bad_dimensions(value, errors, f"{path}[{index}]")
            items.append(item)
            bad |= inner
        return items, bad
    return raw, set()


_PLACEHOLDER = "<invalid search dimension>"


def format_error(error: Mapping[str, Any], *, role: str = "") -> str:
    """``train.optimizer.lr must be greater than 0; got -1`` from one pydantic error."""
    path = _dotted(error["loc"])
    kind, value = error["type"], error.get("input")
    where = f"{path} ({role})" if role else path
    if kind == "extra_forbidden":
        return f"{path} is not a known key{_valid_keys(error['loc'])}"
    if kind == "missing":
        return f"{path} is required"
    rule = str(error["msg"])
    for prefix in ("Input should be ", "Value error, ", "Input "):
        if rule.startswith(prefix):
            rule = rule[len(prefix):]
            break
    rule = rule if rule.startswith(("be ", "must", "should", "is ", "a ", "an ")) else rule
    if not rule.startswith(("must", "should")) and kind != "value_error":
        rule = f"must be {rule[3:]}" if rule.startswith("be ") else f"must be {rule}"
    if kind == "value_error" and not error["loc"]:  # a rule across sections names its fields
        return rule
    if kind == "value_error":
        return f"{where} {rule}; got {value!r}" if rule.startswith("must") else f"{where}: {rule}"
    return f"{where} {rule}; got {value!r}"


def _messages(exc: ValidationError, *, role: str = "", only: str | None = None,
              skip: set[str] = frozenset()) -> list[str]:
    messages: list[str] = []
    for error in exc.errors(include_url=False):
        path = _dotted(error["loc"])
        if any(path == s or path.startswith(s + ".") or path.startswith(s + "[") for s in skip):
            continue
        # a rule across sections (loc ()) may hinge on any dimension: kept for every probe
        if only is not None and error["loc"] and not (
                path == only or path.startswith(only + ".") or path.startswith(only + "[")):
            continue
        message = format_error(error, role=role)
        if message not in messages:
            messages.append(message)
    return messages


def _probes(dim: Dimension) -> list[tuple[Any, str]]:
    if dim.kind == "choice":
        return [(option, "search choice") for option in dim.choices]
    return [(dim.low, "search low bound"), (dim.high, "search high bound")]


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out or "<root>"


def _valid_keys(loc: tuple) -> str:
    model: type[BaseModel] | None = Spec
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(part)
        model = _section_type(field.annotation) if field else None
    if model is None:
        return ""
    return "; valid keys: " + ", ".join(model.model_fields)


def _section_type(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _section_type(arg)
        if found is not None:
            return found
    return None
