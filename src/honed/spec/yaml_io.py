"""YAML reading and writing for specs.

PyYAML follows YAML 1.1, where ``1e-4`` (no dot) is a *string*; ML specs are full of such
numbers, so the loader here also resolves them as floats, as YAML 1.2 does.

A spec is data a user may have been handed, so the loader refuses two things while it composes
the document, before any tree is built: aliases (``*name``), with which half a kilobyte of YAML
expands to hundreds of millions of nodes once copied (the "billion laughs"), and nesting deeper
than :data:`MAX_DEPTH`, which would overflow Python's stack.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from honed.errors import SpecError

__all__ = ["SpecLoader", "RefusedYAML", "read_yaml", "dump_yaml", "MAX_DEPTH"]

#: deepest nesting of mappings and lists a spec may have (real specs stay under 10)
MAX_DEPTH = 64


class RefusedYAML(yaml.MarkedYAMLError):
    """Well-formed YAML that a spec may not use (an alias, too deep a nesting)."""

    def __init__(self, problem: str, mark: yaml.Mark):
        super().__init__(problem=problem, problem_mark=mark)


class SpecLoader(yaml.SafeLoader):
    """SafeLoader that reads ``1e-4`` and ``1E5`` as floats and refuses aliases and deep
    nesting (see the module's docstring)."""

    def compose_node(self, parent, index):  # PyYAML calls it for every node
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise RefusedYAML(f"aliases (*{event.anchor}) are not allowed in a spec; write the "
                              "value out in full", event.start_mark)
        depth = getattr(self, "_depth", 0)
        if depth >= MAX_DEPTH:
            raise RefusedYAML(f"nesting is deeper than {MAX_DEPTH} levels, which no spec "
                              "needs", event.start_mark)
        self._depth = depth + 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth = depth


SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def read_yaml(path: str | Path) -> dict:
    """Read a spec file into a mapping; every failure is a one-line :class:`SpecError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"spec file {path} does not exist") from None
    except IsADirectoryError:
        raise SpecError(f"spec file {path} is a folder, not a YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read spec file {path}: {exc}") from None
    try:
        data = yaml.load(text, Loader=SpecLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        kind = "" if isinstance(exc, RefusedYAML) else "malformed YAML: "
        raise SpecError(f"{path}:{where}: {kind}{problem}") from None
    if data is None:
        raise SpecError(f"{path} is empty; a spec needs at least data and model sections")
    if not isinstance(data, dict):
        raise SpecError(f"{path} must hold a mapping of sections; got a {type(data).__name__}")
    return data


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """libyaml's emitter when PyYAML has it: the same text, about 4x faster (every trial dumps
    its resolved spec). It never writes aliases, which :class:`SpecLoader` refuses: an object
    met twice (an override set in every option of a choice) is written out twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(data: Any) -> str:
    """YAML text of a plain mapping, keys in their given order, without aliases."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=100)
