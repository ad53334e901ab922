"""Stage ``report``: the last stage of honed run, redone when an input changes."""

from __future__ import annotations

import os

from honed.pipeline import RunContext, default_stages
from honed.rundir import RunDir
from honed.spec.template import load_spec
from honed.stages import Report
from honed.stages.report import report_inputs


def test_honed_run_ends_with_the_report(study_run):
    assert type(default_stages()[-1]) is Report
    page = study_run / "report.html"
    assert page.is_file() and 'id="study"' in page.read_text()
    context = RunContext(load_spec(study_run / "spec.yaml"), RunDir(study_run))
    stage = Report()
    assert stage.enabled(context) and stage.done(context)
    # an input newer than the page (e.g. a new test score) makes the report stale
    later = page.stat().st_mtime_ns + 10**6  # 1 ms after the page, before the page remade now
    os.utime(study_run / "metrics.json", ns=(later, later))
    assert not stage.done(context)
    stage.run(context)
    assert stage.done(context)


def test_honed_run_prints_the_report_path(tmp_path, capsys):
    from honed.cli.main import main

    spec = tmp_path / "s.yaml"
    spec.write_text("name: w\ndata: {source: 'builtin:wine'}\nmodel: {family: mlp, hidden: 8}\n"
                    "train: {epochs: 2}\n")
    assert main(["run", str(spec), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    assert f"report: {tmp_path / 'r' / 'report.html'}" in capsys.readouterr().out


def test_a_report_after_a_failed_stage_names_it_and_is_never_done(study_run, tmp_path):
    import shutil

    from honed.pipeline import StageFailure
    from honed.report.html import failed_stage_of

    run = tmp_path / "run"
    shutil.copytree(study_run, run)
    page = run / "report.html"
    assert failed_stage_of(page) is None  # a full report
    notes: list[str] = []
    context = RunContext(load_spec(run / "spec.yaml"), RunDir(run), note=notes.append)
    stage = Report()
    stage.after_failure(context, StageFailure("export", 'ONNX <op> "aten::foo" unsupported'))
    text = page.read_text()
    assert failed_stage_of(page) == "export"
    assert ("<b>export failed</b>: ONNX &lt;op&gt; &quot;aten::foo&quot; unsupported; this "
            "report shows the stages before it") in text
    assert 'id="study"' in text  # what the run dir holds is still drawn
    assert notes == [f"report: export failed; {page} shows the stages before it"]
    # newer than every input, yet not done: the run that gets past export writes it in full
    assert all(p.stat().st_mtime_ns <= page.stat().st_mtime_ns for p in report_inputs(run))
    assert not stage.done(context)
    stage.run(context)
    assert stage.done(context) and failed_stage_of(page) is None
    assert "failed</b>" not in page.read_text()
