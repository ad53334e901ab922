"""``honed export`` on the command line, and the export stage of ``honed run``."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import textwrap

import pytest

from honed.cli.main import main
from honed.report.html import failed_stage_of

from .conftest import BRANCHY, copy_of, tree

SPEC = """\
name: iris-run
data: {source: builtin:iris}
model: {family: mlp, hidden: 8}
train: {epochs: 2, batch_size: 16}
export: {format: triton, max_batch_size: 16}
"""


def test_honed_export_prints_the_files_and_the_check(trained_run, tmp_path, capsys):
    run = copy_of(trained_run, tmp_path)
    assert main(["export", str(run)]) == 0
    out = capsys.readouterr().out
    for text in ("model.onnx", "preprocess.json", "card.json", "dynamo exporter",
                 "onnx.checker passed", "batches [1, 22]", "max |onnx - eager|"):
        assert text in out, text
    card = json.loads((run / "bundle" / "card.json").read_text())
    assert card["files"]["model.onnx"][:12] in out
    assert not (run / "bundle" / "triton").exists()


def test_honed_export_bad_input_is_exit_2_and_writes_nothing(trained_run, tmp_path, capsys):
    run = copy_of(trained_run, tmp_path)
    shutil.rmtree(run / "model")
    before = tree(run)
    assert main(["export", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("honed export: error:") and "holds no trained model" in err
    assert len(err.strip().splitlines()) == 1
    assert main(["export", str(tmp_path / "missing")]) == 2
    assert tree(run) == before
    with pytest.raises(SystemExit) as exited:
        main(["export", str(run), "--format", "zip"])
    assert exited.value.code == 2


def test_honed_run_exports_and_skips_the_export_the_second_time(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    run = tmp_path / "run"
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 0
    card_path = run / "bundle" / "card.json"
    card = json.loads(card_path.read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    assert card["model"] == metrics["refit"]["fingerprint"] and card["variant"] == "base"
    assert card["formats"] == ["onnx", "triton"] and card["triton"] == {"max_batch_size": 16}
    assert "max_batch_size: 16" in (run / "bundle/triton/iris-run/config.pbtxt").read_text()
    stamp = card_path.stat().st_mtime_ns
    capsys.readouterr()
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 0
    assert "export: already done" in capsys.readouterr().err
    assert card_path.stat().st_mtime_ns == stamp
    # a damaged bundle is not "done": the next run writes it again
    (run / "bundle" / "preprocess.json").write_text("{}")
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 0
    assert card_path.stat().st_mtime_ns != stamp
    # without an export section the stage is off
    spec.write_text(SPEC.replace("export: {format: triton, max_batch_size: 16}\n", ""))
    shutil.rmtree(run / "bundle")
    assert main(["run", str(spec), "--out", str(run), "--quiet"]) == 0
    assert not (run / "bundle").exists()


def test_a_failing_stage_of_honed_run_is_exit_1_in_one_line_and_resumes_there(tmp_path, capsys,
                                                                           monkeypatch):
    (tmp_path / "branchy_family.py").write_text(textwrap.dedent(BRANCHY))
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("family: mlp, hidden: 8", "family: 'branchy_family:build'")
                    .replace("format: triton, max_batch_size: 16", ""))
    run = tmp_path / "run"
    command = ["run", str(spec), "--out", str(run), "--quiet", "--allow-import"]
    try:
        assert main(command) == 1
        lines = capsys.readouterr().err.strip().splitlines()
        assert "Traceback" not in "\n".join(lines)
        assert lines[-1].startswith("honed run: ONNX Runtime differs from eager PyTorch by ")
        assert lines[-1].endswith("the export is not written")
        assert not any(line.startswith("honed run") for line in lines[:-1])
        # the trained model and its metrics stay; no bundle, nor a half-written one
        before = tree(run)
        assert "model/weights.safetensors" in before and "metrics.json" in before
        assert not any(name.startswith(("bundle", ".")) or "tmp" in name for name in before)
        # the report shows what the search and the refit made, under a banner naming export
        page = run / "report.html"
        assert failed_stage_of(page) == "export"
        assert "<b>export failed</b>: ONNX Runtime differs from eager PyTorch" in page.read_text()
        assert f"note: report: export failed; {page} shows the stages before it" in lines
        # the same command picks up at the stage that failed, without training again
        assert main(command) == 1
        err = capsys.readouterr().err
        assert "refit: already done" in err and err.strip().splitlines()[-1] == lines[-1]
        assert "report: already done" not in err and failed_stage_of(page) == "export"
        assert tree(run) == before
        # once the cause is fixed, the run exports and the full report replaces the banner
        sys.modules.pop("branchy_family", None)
        (tmp_path / "branchy_family.py").write_text(textwrap.dedent(BRANCHY).replace(
            "self.head(x) if x.shape[0] == 2 else -self.head(x)", "self.head(x)"))
        importlib.invalidate_caches()
        assert main(command) == 0
        err = capsys.readouterr().err
        assert "refit: already done" in err and "export: base model written" in err
        assert (run / "bundle" / "card.json").is_file() and failed_stage_of(page) is None
        assert "failed</b>" not in page.read_text()
    finally:
        sys.modules.pop("branchy_family", None)
