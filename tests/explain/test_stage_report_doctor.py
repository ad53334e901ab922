"""``honed run`` explains when the spec says so; the report draws it; the doctor reads it."""

from __future__ import annotations

import json

from honed.explain import explain_run
from honed.pipeline import run
from honed.report.doctor import diagnose
from honed.spec.template import spec_from_dict
from tests.explain.conftest import known_table
from tests.report.chromium import load_page


def test_honed_run_explains_once_and_the_report_shows_it(tmp_path):
    spec = {"name": "staged", "data": {"source": str(known_table(tmp_path / "t.csv")),
                                       "target": "label"},
            "model": {"family": "mlp", "hidden": 8},
            "train": {"epochs": 2, "threads": 1}, "explain": {"repeats": 2, "steps": 16}}
    outcome = run(spec_from_dict(spec), out_dir=tmp_path / "run", progress=False)
    assert {s.name: s.status for s in outcome.stages}["explain"] == "ran"
    record = json.loads((tmp_path / "run" / "explain" / "importance.json").read_text())
    assert record["model"] == outcome.metrics["refit"]["fingerprint"]
    page = (tmp_path / "run" / "report.html").read_text()
    section = page.split('<section id="explain">')[1].split("</section>")[0]
    assert "permutation importance" in section and "sanity checks" in section
    again = run(spec_from_dict(spec), out_dir=tmp_path / "run", progress=False)
    assert {s.name: s.status for s in again.stages}["explain"] == "skipped"
    # other explain settings explain again, and never retrain the model
    spec["explain"]["repeats"] = 3
    changed = {s.name: s.status for s in run(spec_from_dict(spec), out_dir=tmp_path / "run",
                                             progress=False).stages}
    assert changed["refit"] == "skipped" and changed["explain"] == "ran"

    load = load_page(tmp_path / "run" / "explain" / "explain.html", tmp_path)
    assert load.console == [], load.console
    assert load.dom.count('class="plot-container plotly"') == 3  # bars, per class, examples


def test_without_an_explain_section_the_stage_is_off(tmp_path):
    spec = {"name": "plain", "data": {"source": str(known_table(tmp_path / "t.csv")),
                                      "target": "label"},
            "model": {"family": "mlp", "hidden": 8}, "train": {"epochs": 1, "threads": 1}}
    outcome = run(spec_from_dict(spec), out_dir=tmp_path / "run", progress=False)
    assert {s.name: s.status for s in outcome.stages}["explain"] == "off"
    assert not (tmp_path / "run" / "explain").exists()
    assert "no explain/importance.json" in (tmp_path / "run" / "report.html").read_text()


def test_doctor_flags_a_leaking_column_and_dead_inputs(runs):
    explain_run(runs["leaky"])
    findings = {f.check: f for f in diagnose(runs["leaky"]).findings}
    assert "'leak'" in findings["leakage"].verdict and "dead_inputs" not in findings
    assert findings["leakage"].changes == ["data.features=[n1, n2]"]

    explain_run(runs["known"])
    findings = {f.check: f for f in diagnose(runs["known"]).findings}
    assert "leakage" not in findings
    assert "const" in findings["dead_inputs"].evidence
    kept = findings["dead_inputs"].changes[0].removeprefix("data.features=[").strip("]")
    assert {"a", "b"} <= set(kept.split(", ")) and "const" not in kept


def test_doctor_ignores_importances_of_an_earlier_model(runs, tmp_path):
    import shutil

    explain_run(runs["leaky"])
    copy = shutil.copytree(runs["leaky"], tmp_path / "leaky")
    metrics = json.loads((copy / "metrics.json").read_text())
    (copy / "metrics.json").write_text(json.dumps({**metrics, "refit": {"fingerprint": "new"}}))
    record = json.loads((copy / "explain" / "importance.json").read_text())
    (copy / "explain" / "importance.json").write_text(json.dumps({**record, "model": "old"}))
    assert "leakage" not in {f.check for f in diagnose(copy).findings}
    (copy / "explain" / "importance.json").write_text(json.dumps({**record, "model": "new"}))
    assert "leakage" in {f.check for f in diagnose(copy).findings}
