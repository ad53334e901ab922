"""Stage ``report``: the last stage of honed run, redone when an input changes."""

from __future__ import annotations

import os

from honed.pipeline import RunContext, default_stages
from honed.rundir import RunDir
from honed.spec.template import load_spec
from honed.stages import Report


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
