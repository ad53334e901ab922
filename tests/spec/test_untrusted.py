"""A spec is data a user may have been handed: it can neither explode nor run code."""

from __future__ import annotations

import pytest

from honed.errors import SpecError
from honed.spec import load_spec, parse_override
from honed.spec.yaml_io import MAX_DEPTH, read_yaml

HEAD = "name: t\ndata: {source: builtin:iris}\nmodel: {family: mlp}\n"


def _alias_bomb() -> str:
    """The "billion laughs": nine levels of nine aliases, 9**9 leaves from a few hundred bytes."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return HEAD + "\n".join(lines) + "\nbomb: *a8\n"


def test_an_alias_bomb_is_refused_while_composing(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb())
    assert len(path.read_bytes()) < 1500
    with pytest.raises(SpecError) as info:
        read_yaml(path)  # before the guard: loaded, then expanded by the copy of overrides
    assert info.value.errors == [f"{path}: line 5, column 10: aliases (*a0) are not allowed "
                                 "in a spec; write the value out in full"]


def test_every_alias_is_refused_and_a_bare_anchor_is_harmless(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(HEAD.replace("family: mlp", "family: mlp, hidden: &width 8")
                    + "train: {batch_size: *width}\n")
    with pytest.raises(SpecError, match=r"s.yaml: line 4, column \d+: aliases \(\*width\)"):
        load_spec(path)
    path.write_text(HEAD.replace("family: mlp", "family: mlp, hidden: &width 8"))
    assert load_spec(path).default.model.hidden == 8


def test_overrides_go_through_the_same_guard():
    with pytest.raises(SpecError, match=r"override model.x: .*aliases \(\*a\) are not allowed"):
        parse_override("model.x=[&a [1, 2], *a, *a]")
    with pytest.raises(SpecError, match=f"deeper than {MAX_DEPTH} levels"):
        parse_override("model.x=" + "[" * 10_000 + "]" * 10_000)


def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text(HEAD + "x: " + "[" * 10_000 + "]" * 10_000 + "\n")
    with pytest.raises(SpecError, match=rf"deep.yaml: line 4, column \d+: nesting is deeper "
                                        rf"than {MAX_DEPTH} levels"):
        load_spec(path)
    path.write_text(HEAD + "x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")
    assert read_yaml(path)["x"] is not None  # as deep as allowed still reads
