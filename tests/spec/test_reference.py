"""The spec documents itself: every field is described, and docs/spec.md shows the reference
generated from the schema, so the page cannot drift from the code."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path

from pydantic import BaseModel, Field

from honed.spec.reference import main, render_reference, replace_reference
from honed.spec.schema import Spec

PAGE = Path(__file__).resolve().parents[2] / "docs" / "spec.md"
REGENERATE = "python -m honed.spec.reference --write"


def _models_in(annotation) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def sections(model: type[BaseModel] = Spec, path: str = "",
             seen: dict | None = None) -> dict[str, type[BaseModel]]:
    """Dotted path -> model, for every section reachable from ``model`` (each model once)."""
    seen = {} if seen is None else seen
    if model not in seen.values():
        seen[path] = model
        for name, field in model.model_fields.items():
            for sub in _models_in(field.annotation):
                sections(sub, f"{path}.{name}" if path else name, seen)
    return seen


def undescribed(model: type[BaseModel] = Spec) -> list[str]:
    """What lacks a description: a section without a docstring, a field without one."""
    missing = []
    for path, section in sections(model).items():
        if not (vars(section).get("__doc__") or "").strip():
            missing.append(f"{path or 'the top level'} ({section.__name__}) has no docstring")
        for name, field in section.model_fields.items():
            if not (field.description or "").strip():
                key = f"{path}.{name}" if path else name
                missing.append(f"{key} has no Field(description=...)")
    return missing


def test_every_section_and_field_is_described():
    assert undescribed() == []


def test_a_field_without_a_description_is_found():
    class Inner(BaseModel):
        """Described."""

        size: int = 3

    class Outer(BaseModel):
        inner: Inner | None = Field(None, description="An inner section.")

    assert undescribed(Outer) == ["the top level (Outer) has no docstring",
                                  "inner.size has no Field(description=...)"]


def test_docs_show_the_generated_reference():
    page = PAGE.read_text(encoding="utf-8")
    assert replace_reference(page, render_reference()) == page, (
        f"docs/spec.md's reference is out of date: run `{REGENERATE}`")


def test_the_reference_has_a_table_per_section_and_a_row_per_field():
    tables: dict[str, list[str]] = {}
    for heading, body in re.findall(r"^### ([^\n]+)\n(.*?)(?=^### |\Z)", render_reference(),
                                    re.MULTILINE | re.DOTALL):
        path = "" if heading == "Top level" else heading.strip("`")
        tables[path] = re.findall(r"^\| `(\w+)` \|", body, re.MULTILINE)
    assert tables == {path: list(model.model_fields) for path, model in sections().items()}


def test_a_row_shows_the_rules_the_schema_enforces():
    reference = render_reference()
    for row in ("| `val` | float in [0, 1) | `0.15` | ",
                "| `threads` | int in [1, 1024] \\| `auto` \\| `all` \\| null | `auto` | ",
                "| `lr` | float > 0 \\| `auto` | `0.001` | ",
                "| `student` | section [`model`](#model) | **required** | ",
                "| `amount` | list of 2 (float in [0, 1)) | `[0.2, 0.8]` | "):
        assert row in reference


def test_check_finds_a_stale_page_and_write_mends_it(tmp_path, capsys):
    page = tmp_path / "spec.md"
    stale = PAGE.read_text(encoding="utf-8").replace("| `val` |", "| `validation` |")
    page.write_text(stale, encoding="utf-8")
    assert main(["--check", "--page", str(page)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["--write", "--page", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == PAGE.read_text(encoding="utf-8")
    assert main(["--check", "--page", str(page)]) == 0


def test_a_page_without_the_markers_is_one_line_and_left_alone(tmp_path, capsys):
    page = tmp_path / "spec.md"
    page.write_text("# The spec\n", encoding="utf-8")
    assert main(["--write", "--page", str(page)]) == 2
    assert "has no <!-- BEGIN REFERENCE" in capsys.readouterr().err
    assert page.read_text(encoding="utf-8") == "# The spec\n"


def test_the_module_runs_as_the_docs_say():
    done = subprocess.run([sys.executable, "-m", "honed.spec.reference", "--check", "--page",
                           str(PAGE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
