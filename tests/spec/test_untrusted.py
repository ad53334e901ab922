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


IRIS = {"name": "t", "data": {"source": "builtin:iris"}, "model": {"family": "mlp"}}
HUGE = 10**400  # an integer no float holds


def errors_of(overrides: list[str]) -> list[str]:
    from honed.spec import spec_from_dict

    with pytest.raises(SpecError) as info:
        spec_from_dict(IRIS, overrides=overrides)
    return info.value.errors


@pytest.mark.parametrize("override, message", [
    ("train.optimizer.lr=.inf", "train.optimizer.lr must be a finite number greater than 0"),
    ("train.optimizer.lr=.nan", "train.optimizer.lr must be a finite number greater than 0"),
    (f"train.optimizer.lr={HUGE}", "train.optimizer.lr must be a finite number greater than 0"),
    ("train.optimizer.weight_decay=.inf", "train.optimizer.weight_decay must be a finite number"),
    ("train.optimizer.momentum=.nan", "train.optimizer.momentum must be a finite number"),
    ("train.clip.norm=.inf", "train.clip.norm must be a finite number"),
    ("train.clip.value=.inf", "train.clip.value must be a finite number"),
    ("model.dropout=.nan", "model.dropout must be a finite number"),
    ("train.l2=.inf", "train.l2 must be a finite number"),
    ("compress.search.temperature=[1, .inf]", "compress.search.temperature[1] must be a finite"),
    ("model.dropout={float: [0.1, .inf]}", "model.dropout.float bounds must be finite"),
    (f"model.dropout={{float: [0.1, {HUGE}]}}", "model.dropout.float bounds must be finite"),
    (f"model.hidden={{int: [1, {HUGE}]}}", "model.hidden.int bounds must be finite"),
    ("model.dropout={choice: [0.1, .nan]}", "model.dropout (search choice) must be a finite"),
    ("train.optimizer.weight_decay={choice: [0, .inf]}",
     "train.optimizer.weight_decay (search choice) must be a finite number; got inf"),
    ("search.timeout=.inf", "search.timeout: a duration must be at most 1000000000 seconds"),
    (f"search.timeout={HUGE}", "search.timeout: a duration must be at most"),
    ("seed=18446744073709551616", "seed must be less than or equal to 4294967295"),
    ("search.seed=4294967296", "search.seed must be less than or equal to 4294967295"),
    ("compress.search.seed=4294967296", "compress.search.seed must be less than or equal"),
])
def test_non_finite_and_out_of_range_numbers_are_spec_errors(override, message):
    errors = errors_of([override])
    assert len(errors) == 1 and errors[0].startswith(message), errors


def test_the_largest_seed_and_finite_values_still_pass():
    from honed.spec import spec_from_dict

    spec = spec_from_dict(IRIS, overrides=["seed=4294967295", "train.clip.norm=1e30",
                                           "search.timeout=1000000000"]).default
    assert spec.seed == 2**32 - 1 and spec.search.timeout == 1e9


def test_a_spec_naming_python_code_is_refused_unless_allowed(tmp_path, monkeypatch):
    import sys

    from honed.spec import spec_from_dict

    (tmp_path / "spec_side_effect.py").write_text(
        "from pathlib import Path\nPath(__file__).with_name('ran.txt').write_text('ran')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("HONED_ALLOW_IMPORT", raising=False)
    refusal = ("'spec_side_effect:build' would import Python module 'spec_side_effect' and run "
               "its code, which honed does only when allowed: set "
               "HONED_ALLOW_IMPORT=spec_side_effect, or pass --allow-import to a command that "
               "reads a spec")
    assert errors_of(["model.family=spec_side_effect:build"]) == [f"model.family: {refusal}"]
    assert errors_of(["model.family={choice: [mlp, 'spec_side_effect:build']}"]) == [
        f"model.family (search choice): {refusal}"]
    assert errors_of(["compress.distill.student.family=spec_side_effect:build"]) == [
        f"compress.distill.student.family: {refusal}"]
    assert not (tmp_path / "ran.txt").exists() and "spec_side_effect" not in sys.modules
    monkeypatch.setenv("HONED_ALLOW_IMPORT", "other,spec_side_effect")
    spec = spec_from_dict(IRIS, overrides=["model.family=spec_side_effect:build"]).default
    assert spec.model.family == "spec_side_effect:build"
    assert not (tmp_path / "ran.txt").exists()  # validation itself never imports


def test_allow_import_sets_the_variable_workers_inherit(monkeypatch):
    from honed.spec.imports import allow_import, import_allowed

    monkeypatch.delenv("HONED_ALLOW_IMPORT", raising=False)
    assert not import_allowed("pkg")
    allow_import("pkg", "other.mod")
    assert import_allowed("pkg.sub") and import_allowed("other.mod")
    assert not import_allowed("other") and not import_allowed("pkgs")
    allow_import()
    assert import_allowed("anything")


def test_what_honed_writes_has_no_aliases_and_reads_back(tmp_path):
    from honed.spec import spec_from_dict
    from honed.spec.yaml_io import dump_yaml

    raw = {**IRIS, "train": {"optimizer": {"choice": [{"name": "sgd"}, {"name": "adam"}]}}}
    # one override object lands in both options: study/space.yaml used to write &id001/*id001
    template = spec_from_dict(raw, overrides=["train.optimizer.lr={float: [0.001, 0.1]}"])
    text = dump_yaml(template.raw)
    assert "&" not in text and "*" not in text
    (tmp_path / "space.yaml").write_text(text)
    assert load_spec(tmp_path / "space.yaml").raw == template.raw
