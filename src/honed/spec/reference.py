"""The spec reference in Markdown, generated from the schema, so it cannot drift from the code.

Every section becomes a table of its keys: type (with the bounds and allowed values the schema
enforces), default and description (each field's ``Field(description=...)``, each section's
docstring). ``docs/spec.md`` holds the result between :data:`BEGIN` and :data:`END`, and
``tests/spec/test_reference.py`` fails when it differs from :func:`render_reference`.

Regenerate it after changing the schema::

    python -m honed.spec.reference --write             # docs/spec.md, from the repository root
    python -m honed.spec.reference                     # print it
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from honed.io import atomic_write_text
from honed.spec.schema import Spec
from honed.spec.validate import SEARCHABLE_SECTIONS

__all__ = ["BEGIN", "END", "render_reference", "replace_reference", "main"]

BEGIN = ("<!-- BEGIN REFERENCE: generated from the schema by `python -m honed.spec.reference "
         "--write`; edit the Field descriptions in src/honed/spec/, not this part -->")
END = "<!-- END REFERENCE -->"
ROOT = "Top level"


def render_reference() -> str:
    """The reference of every section of :class:`~honed.spec.schema.Spec`, in Markdown."""
    schema = Spec.model_json_schema()
    defs = schema.get("$defs", {})
    paths = _section_paths(schema, defs)
    names = [f"`{name}`" for name in SEARCHABLE_SECTIONS]
    searchable = ", ".join(names[:-1]) + " and " + names[-1]
    out = [
        "## Reference",
        "",
        "Generated from the schema. Types are those of a concrete value; any value under "
        f"{searchable} may instead be a search dimension ([notation](#search-dimensions)), "
        "whose bounds and options must fit the type. `null` is YAML's empty value (`~`). "
        "How each stage uses its section: [Search](search.md), [Compression](compression.md), "
        "[Export](export.md).",
    ]
    for name, path in paths.items():
        node = schema if name == "Spec" else defs[name]
        out += ["", f"### `{path}`" if path else f"### {ROOT}", ""]
        out += [_paragraph(node.get("description", "")), ""]
        out += ["| key | type | default | description |", "|---|---|---|---|"]
        required = set(node.get("required", ()))
        for key, field in node["properties"].items():
            default = "**required**" if key in required else _default(field)
            out.append(f"| `{key}` | {_type(field, paths)} | {default} | "
                       f"{_cell(field.get('description', ''))} |")
    return "\n".join(out) + "\n"


def replace_reference(page: str, reference: str) -> str:
    """``page`` with the text between its :data:`BEGIN` and :data:`END` lines replaced."""
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < start:
        raise ValueError(f"has no {BEGIN.split(':')[0]} ... {END} block to hold the reference")
    return page[:start] + BEGIN + "\n\n" + reference + "\n" + page[end:]


def _section_paths(schema: dict, defs: dict) -> dict[str, str]:
    """Model name -> the dotted path where it is documented: its first place, depth first."""
    paths = {"Spec": ""}

    def visit(node: dict, path: str) -> None:
        for key, field in node.get("properties", {}).items():
            for name in _refs(field):
                if name not in paths:
                    paths[name] = f"{path}.{key}" if path else key
                    visit(defs[name], paths[name])

    visit(schema, "")
    return paths


def _refs(node: Any) -> list[str]:
    if not isinstance(node, dict):
        return []
    if "$ref" in node:
        return [node["$ref"].rsplit("/", 1)[-1]]
    return [name for part in node.get("anyOf", []) for name in _refs(part)]


def _type(node: dict, paths: dict[str, str]) -> str:
    """A schema node as short text, e.g. ``float in [0, 1)`` or ``non-empty list of (str)``."""
    if "$ref" in node:
        path = paths[node["$ref"].rsplit("/", 1)[-1]]
        return f"section [`{path}`](#{re.sub(r'[^a-z0-9_-]', '', path.lower())})"
    if "anyOf" in node:
        return " \\| ".join(_type(part, paths) for part in node["anyOf"])
    if "enum" in node:
        return " \\| ".join(f"`{_value(v)}`" for v in node["enum"])
    if "const" in node:
        return f"`{_value(node['const'])}`"
    kind = node.get("type")
    if kind in ("integer", "number"):
        return ("int" if kind == "integer" else "float") + _bounds(node)
    if kind == "string":
        text = "non-empty str" if node.get("minLength", 0) >= 1 else "str"
        return text + (f" matching `{node['pattern']}`" if "pattern" in node else "")
    if kind == "array":
        items = _type(node.get("items", {}), paths)
        low, high = node.get("minItems", 0), node.get("maxItems")
        if low == high:
            return f"list of {low} ({items})"
        return ("non-empty list" if low >= 1 else "list") + f" of ({items})"
    return {"boolean": "bool", "null": "null"}.get(kind, "any")


def _bounds(node: dict) -> str:
    low = [(f"{'(' if key == 'exclusiveMinimum' else '['}", node[key])
           for key in ("minimum", "exclusiveMinimum") if key in node]
    high = [(f"{')' if key == 'exclusiveMaximum' else ']'}", node[key])
            for key in ("maximum", "exclusiveMaximum") if key in node]
    if low and high:
        return f" in {low[0][0]}{_number(low[0][1])}, {_number(high[0][1])}{high[0][0]}"
    if low:
        return f" {'>' if low[0][0] == '(' else '≥'} {_number(low[0][1])}"
    if high:
        return f" {'<' if high[0][0] == ')' else '≤'} {_number(high[0][1])}"
    return ""


def _number(value: float) -> str:
    """A bound as people write it: ``0`` for 0.0, ``2^32 - 1`` rather than 4294967295."""
    if value == 2**32 - 1:
        return "2^32 - 1"
    return str(int(value)) if float(value).is_integer() else str(value)


def _default(node: dict) -> str:
    if "default" not in node:
        return ""
    value = node["default"]
    if isinstance(value, dict) and _refs(node):
        return "its defaults"
    return f"`{_value(value)}`"


def _value(value: Any) -> str:
    """A value as it is written in YAML (flow style)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value).replace('"', "")
    return str(value)


def _paragraph(text: str) -> str:
    """A docstring as one Markdown paragraph: reST's double backticks become single ones."""
    return " ".join(text.replace("``", "`").split())


def _cell(text: str) -> str:
    """Text for a table cell: pipes escaped, and ``<`` outside code spans (not an HTML tag)."""
    parts = _paragraph(text).replace("|", "\\|").split("`")
    return "`".join(part if i % 2 else part.replace("<", "&lt;") for i, part in enumerate(parts))


def main(argv: list[str] | None = None) -> int:
    """Print the reference, write it into a page, or check that the page holds it."""
    parser = argparse.ArgumentParser(prog="python -m honed.spec.reference",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the page's reference")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    parser.add_argument("--page", default="docs/spec.md", help="the page (default: %(default)s)")
    args = parser.parse_args(argv)
    reference = render_reference()
    if not (args.write or args.check):
        sys.stdout.write(reference)
        return 0
    page = Path(args.page)
    old = page.read_text(encoding="utf-8")
    try:
        new = replace_reference(old, reference)
    except ValueError as exc:
        print(f"{page}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if new != old:
            print(f"{page}: the spec reference is out of date; run "
                  "python -m honed.spec.reference --write", file=sys.stderr)
            return 1
        return 0
    if new != old:
        atomic_write_text(page, new)
    print(f"{page}: {'updated' if new != old else 'up to date'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
