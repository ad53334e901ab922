"""A loaded spec: the raw mapping (dimensions inline), where it came from, and its points."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from honed.spec.memory import memory_source
from honed.spec.overrides import apply_overrides
from honed.spec.schema import Spec
from honed.spec.space import Dimension, find_dimensions, resolve
from honed.spec.validate import validate_point, validate_template
from honed.spec.yaml_io import dump_yaml, read_yaml

__all__ = ["SpecTemplate", "load_spec", "spec_from_dict", "dump_spec"]


@dataclass(frozen=True)
class SpecTemplate:
    """A validated spec that may still hold search dimensions.

    Attributes:
        raw: the mapping as written, with overrides applied and dimensions inline.
        base_dir: folder that relative data paths are read from (the spec file's folder).
        default: the spec at its default point (see :mod:`honed.spec.space`).
    """

    raw: dict
    base_dir: Path
    default: Spec

    @property
    def dimensions(self) -> list[Dimension]:
        """Top-level dimensions (conditional ones hang under their choice's ``nested``)."""
        return find_dimensions(self.raw)

    @property
    def is_search(self) -> bool:
        return bool(self.dimensions)

    def resolve(self, pick: Callable[[Dimension], Any] | None = None) -> Spec:
        """The concrete spec where ``pick(dim)`` gives each dimension's value."""
        if pick is None:
            return self.default
        return validate_point(resolve(self.raw, pick))


def load_spec(path: str | Path, overrides: Iterable[str] = ()) -> SpecTemplate:
    """Read, override and validate a YAML spec; every problem is reported in one SpecError."""
    path = Path(path)
    raw = apply_overrides(read_yaml(path), overrides)
    return SpecTemplate(raw=raw, base_dir=path.resolve().parent, default=validate_template(raw))


def spec_from_dict(raw: dict, *, base_dir: str | Path = ".",
                   overrides: Iterable[str] = ()) -> SpecTemplate:
    """Like :func:`load_spec` for a mapping built in Python.

    ``data.source`` may also be a pandas DataFrame or an ``(X, y)`` pair of arrays: the
    spec then holds ``memory:KEY`` (see :mod:`honed.spec.memory`).
    """
    raw = _hold_memory_source(apply_overrides(raw, overrides))
    return SpecTemplate(raw=raw, base_dir=Path(base_dir).resolve(),
                        default=validate_template(raw))


def _hold_memory_source(raw: dict) -> dict:
    """``data.source`` as ``memory:KEY`` when it is data, so that ``raw`` stays YAML."""
    data = raw.get("data")
    if isinstance(data, dict) and not isinstance(data.get("source", ""), str):
        try:
            raw = {**raw, "data": {**data, "source": memory_source(data["source"])}}
        except ValueError:
            pass  # validation reports it, with every other problem
    return raw


def dump_spec(spec: Spec) -> str:
    """YAML of a resolved spec with every default filled in."""
    return dump_yaml(spec.model_dump(mode="json"))
