"""train.backbone_lr_factor on the command line: bad values and a missing init_from are one
line, exit 2, nothing written; a fine-tuned run records both rates and reports them."""

from __future__ import annotations

import json

import pytest

from honed.cli.main import main
from honed.errors import SpecError
from honed.spec.validate import validate_template

IRIS = """\
name: iris
data: {source: builtin:iris}
model: {family: mlp, hidden: 16, depth: 1}
train: {epochs: 2, batch_size: 16, threads: 1}
"""
FINETUNE = ["model.init_from=a", "model.init_exclude=['head.*']"]


def _refused(tmp_path, capsys, overrides, fragment):
    (tmp_path / "spec.yaml").write_text(IRIS)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["train", str(tmp_path / "spec.yaml"), *overrides, "--out",
                 str(tmp_path / "b"), "--quiet"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and fragment in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("value, rule", [
    ("0", "greater than 0"), ("-1", "greater than 0"), ("2", "less than or equal to 1"),
    (".nan", "a finite number"), ("'fast'", "a valid number")])
def test_a_bad_factor_is_one_line_exit_2(tmp_path, capsys, value, rule):
    _refused(tmp_path, capsys, [*FINETUNE, f"train.backbone_lr_factor={value}"],
             f"train.backbone_lr_factor must be {rule}")


@pytest.mark.parametrize("overrides", [[], ["model.init_from=a"]])
def test_a_factor_needs_init_from_and_init_exclude(tmp_path, capsys, overrides):
    _refused(tmp_path, capsys, [*overrides, "train.backbone_lr_factor=0.1"],
             "train.backbone_lr_factor 0.1 scales the parameters model.init_from fills against "
             "the new ones model.init_exclude names; set both")


@pytest.mark.parametrize("overrides, fragment", [
    (["model.init_exclude=['head.*']"], "model.init_exclude ['head.*'] names what "
     "model.init_from does not load, but init_from is not set"),
    (["model.unfreeze_after=2"], "model.unfreeze_after 2 unfreezes what model.freeze froze, "
     "but freeze is empty")])
def test_a_transfer_knob_without_its_partner_is_refused(tmp_path, capsys, overrides, fragment):
    _refused(tmp_path, capsys, overrides, fragment)


def test_the_factor_is_a_search_dimension_like_any_float():
    raw = {"data": {"source": "builtin:iris"},
           "model": {"family": "mlp", "init_from": "a", "init_exclude": ["head.*"]},
           "train": {"backbone_lr_factor": {"float": [0.01, 1.0], "log": True}}}
    assert validate_template(raw).train.backbone_lr_factor == pytest.approx(0.1)
    raw["train"]["backbone_lr_factor"] = {"float": [0.0, 1.0]}
    with pytest.raises(SpecError, match=r"train.backbone_lr_factor \(search low bound\) must be "
                                        r"greater than 0; got 0.0"):
        validate_template(raw)
    # without init_from, a choice whose default (1) passes is still caught at its other option
    raw = {**raw, "model": {"family": "mlp"},
           "train": {"backbone_lr_factor": {"choice": [1.0, 0.1]}}}
    with pytest.raises(SpecError, match=r"^spec error: train.backbone_lr_factor 0.1 scales"):
        validate_template(raw)


def test_a_fine_tuned_run_records_and_reports_both_rates(tmp_path):
    (tmp_path / "spec.yaml").write_text(IRIS)
    spec = str(tmp_path / "spec.yaml")
    assert main(["train", spec, "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert main(["train", spec, "model.init_from=" + str(tmp_path / "a"),
                 "model.init_exclude=['head.*']", "model.freeze=['body']",
                 "model.unfreeze_after=1", "train.backbone_lr_factor=0.1",
                 "train.schedule.name=cosine", "--out", str(tmp_path / "b"), "--quiet"]) == 0
    lines = [json.loads(line) for line in (tmp_path / "b" / "history.jsonl").open()]
    assert len(lines) == 2
    for line in lines:
        assert line["lr_backbone"] == pytest.approx(0.1 * line["lr"], rel=1e-12)
    plain = [json.loads(line) for line in (tmp_path / "a" / "history.jsonl").open()]
    assert all("lr_backbone" not in line for line in plain)
    assert main(["report", str(tmp_path / "b")]) == 0
    assert "lr (backbone)" in (tmp_path / "b" / "report.html").read_text()
