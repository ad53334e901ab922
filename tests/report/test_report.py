"""The HTML report: every section present, degrading on partial runs, and in real Chromium."""

from __future__ import annotations

import json
import re
import shutil

import optuna
import pytest

from honed.cli.main import main
from honed.report.html import SECTION_IDS, write_report
from tests.report.chromium import load_page

#: external resources a page would fetch (inlined plotly.js mentions URLs in its code, which is
#: no request: what matters is a src/href attribute pointing off the machine)
_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def external(page: str) -> list[str]:
    """src/href attributes pointing off the machine, outside script bodies."""
    return _EXTERNAL.findall(re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S))


def sections(page: str) -> dict[str, str]:
    """Section id → its HTML."""
    return dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', page, re.S))


def test_report_of_a_train_run_in_chromium(runs, tmp_path, capsys):
    assert main(["report", str(runs["healthy"])]) == 0
    path = runs["healthy"] / "report.html"
    assert f"report: {path}" in capsys.readouterr().out
    page = path.read_text()
    assert page.count("<script") >= 1 and external(page) == []
    found = sections(page)
    assert list(found) == list(SECTION_IDS)
    assert "no problem found" in found["doctor"]
    assert "confusion matrix" in found["evaluation"] and "precision" in found["evaluation"]
    assert "no study" in found["study"] and "no compress/compress.json" in found["compression"]

    load = load_page(path, tmp_path)
    assert load.console == [], load.console
    for section_id in SECTION_IDS:
        assert f'id="{section_id}"' in load.dom
    assert load.dom.count('class="plot-container plotly"') >= 2  # plotly drew the figures
    assert external(load.dom) == []
    _assert_not_blank(load.screenshot)


def test_report_of_a_run_with_a_study_in_chromium(study_run, tmp_path):
    path = write_report(study_run)
    found = sections(path.read_text())
    assert "optimization history" in found["study"] and "parallel" in found["study"].lower()
    assert "trial states" in found["study"] and "search_bounds" not in found["doctor"]
    assert "the best trials sit on a bound" in found["doctor"]
    assert "best trial" in found["summary"] and "test" in found["summary"]
    load = load_page(path, tmp_path)
    assert load.console == [], load.console
    assert load.dom.count('class="plot-container plotly"') >= 5
    _assert_not_blank(load.screenshot)


def test_report_of_honed_run_says_how_long_why_it_stopped_and_where_it_trained(study_run):
    found = sections(write_report(study_run).read_text())
    # best.json keeps the search's wall time and stop reason when honed tune writes them;
    # the trials' own times otherwise
    assert "search wall time" in found["summary"], found["summary"]
    # the fixture's grid has 6 points and search.trials is 6: the grid ran out
    assert "search stopped because" in found["summary"]
    assert "the grid was exhausted (6 points)" in found["summary"]
    # the final model is the best trial's: where that trial trained is its record
    assert "holds no device/threads record" not in found["environment"]
    assert "training device" in found["environment"] and "torch threads" in (
        found["environment"])
    assert "training stopped because" in found["summary"]


def test_honed_run_records_the_threads_its_trials_trained_with(tmp_path):
    import torch

    from honed.pipeline import run
    from honed.spec.template import spec_from_dict

    raw = {"name": "t", "data": {"source": "builtin:wine"}, "model": {"family": "mlp"},
           "train": {"epochs": 1, "threads": 1,
                     "optimizer": {"lr": {"float": [1e-3, 1e-2], "log": True}}},
           "search": {"trials": 1}}
    before = torch.get_num_threads()
    torch.set_num_threads(2)  # the process's count differs from train.threads
    try:
        outcome = run(spec_from_dict(raw), out_dir=tmp_path / "t", progress=False)
    finally:
        torch.set_num_threads(before)
    assert outcome.metrics["refit"]["source"] == "trial model"
    assert outcome.metrics["threads"] == 1 and outcome.metrics["device"] == "cpu"
    assert outcome.metrics["stop_reason"] == "completed 1 epochs"


def test_pruned_trials_in_the_history_in_chromium(runs, tmp_path):
    from honed.search.study import TARGET

    run = tmp_path / "run"
    shutil.copytree(runs["healthy"], run)
    (run / "study").mkdir()
    study = optuna.create_study(study_name="healthy", direction="minimize",
                                storage=f"sqlite:///{run / 'study' / 'study.db'}")
    study.set_user_attr(TARGET, 4)
    for curve, state in [([0.9, 0.5, 0.4], "complete"), ([1.2, 1.1], "pruned"),
                         ([0.8, 0.3], "complete"), ([1.4], "pruned")]:
        trial = study.ask()
        for step, value in enumerate(curve):
            trial.report(value, step)
        if state == "pruned":
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, min(curve))
    path = write_report(run)
    found = sections(path.read_text())
    assert "pruned (value when pruned)" in found["study"]
    # each pruned trial is drawn at the step that pruned it
    assert re.search(r'"customdata":\s*\["epoch 2",\s*"epoch 1"\]', found["study"])
    assert "2 pruned trial(s)" in found["study"]
    # no best.json: the wall time comes from the trials, the stop reason from the counts
    assert "first trial start to last trial end" in found["summary"]
    assert "its 4 trials ended" in found["summary"]
    # what honed tune keeps in best.json comes first
    (run / "study" / "best.json").write_text(json.dumps(
        {"study": "healthy", "trials": [], "stop_reason": "timeout", "wall_seconds": 12.34}))
    summary = sections(write_report(run).read_text())["summary"]
    assert "12.3 s (the last session" in summary, summary
    assert "search.timeout passed (4 of 4 trials ended)" in summary, summary

    load = load_page(path, tmp_path)
    assert load.console == [], load.console
    legend = re.findall(r'class="legendtext"[^>]*>([^<]+)<', load.dom)
    assert "pruned (value when pruned)" in legend and "best so far" in legend, legend
    assert external(load.dom) == []
    _assert_not_blank(load.screenshot)


def test_the_console_check_sees_errors(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<html><body><p>x</p><script>console.error('boom'); nope();</script>"
                    "</body></html>")
    console = load_page(page, tmp_path).console
    assert any("boom" in line for line in console)
    assert any("Uncaught ReferenceError" in line for line in console)


def test_multi_objective_coarse_to_fine_study(tmp_path):
    from honed.pipeline import run
    from honed.spec.template import spec_from_dict

    raw = {"name": "mo", "data": {"source": "builtin:wine"},
           "model": {"family": "mlp", "hidden": {"int": [4, 64], "log": True}},
           "train": {"epochs": 2, "optimizer": {
               "name": "adamw", "lr": {"float": [1.0e-3, 1.0e-1], "log": True}}},
           "search": {"trials": 8, "strategy": "coarse-to-fine",
                      "objectives": ["val.accuracy:max", "params:min"]}}
    outcome = run(spec_from_dict(raw), out_dir=tmp_path / "mo", progress=False)
    study = sections((outcome.run_dir.root / "report.html").read_text())["study"]
    assert "Pareto" in study and "coarse-to-fine: narrowed after" in study
    assert 'class="missing"' not in study  # every study figure was drawn


def test_report_of_a_regression_run(runs):
    found = sections(write_report(runs["regression"]).read_text())
    assert "predicted against true" in found["evaluation"]
    assert "residuals" in found["evaluation"]


def test_the_evaluation_shows_the_baselines_beside_the_model(runs):
    for name, expected in (("healthy", ("majority", "logistic")), ("regression", ("mean", "ridge"))):
        metrics = json.loads((runs[name] / "metrics.json").read_text())
        report = metrics["baselines"]
        found = sections(write_report(runs[name]).read_text())["evaluation"]
        metric = report["compared_on"]["metric"]
        assert "Baselines on the same prepared data" in found and f"val {metric}" in found
        assert "<b>the model</b>" in found and all(f"<td>{b}</td>" in found for b in expected)
        assert "best baseline" in found
        # the finding box stands there exactly when the run says the model loses
        assert ("does not beat" in found) == (report["beats_baseline"] is False)


def test_a_model_that_loses_to_a_baseline_gets_a_finding_box(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["healthy"], run)
    metrics = json.loads((run / "metrics.json").read_text())
    report = metrics["baselines"]
    report.update(beats_baseline=False, best="logistic", best_value=0.99, model_value=0.5)
    (run / "metrics.json").write_text(json.dumps(metrics))
    found = sections(write_report(run).read_text())["evaluation"]
    assert "the model does not beat the logistic baseline" in found
    assert "of the model 0.5, of logistic 0.99" in found


def test_report_of_a_compressed_and_exported_run(runs):
    page = runs["shipped"] / "report.html"  # honed run made it as its last stage
    found = sections(page.read_text())
    assert "baseline" in found["compression"] and "int8" in found["compression"]
    assert "accuracy against batch-1 latency" in found["compression"]
    # the drop that chose is on val; test is shown for the record
    assert "<th>val drop</th>" in found["compression"]
    assert "<th>test drop</th>" in found["compression"]
    assert "the choice reads the drop on val" in found["compression"]
    assert "parity" in found["export"] and "model.onnx" in found["export"]
    assert "<td>ok</td>" in found["export"]  # every bundle hash still matches


def test_report_of_a_version_1_compress_table_says_it_chose_on_test(runs, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(runs["shipped"], old)
    path = old / "compress" / "compress.json"
    table = json.loads(path.read_text())
    rows = [{k: v for k, v in row.items() if k not in ("val", "se", "test_drop")}
            for row in table["variants"]]
    path.write_text(json.dumps({**table, "version": 1, "variants": rows}))
    found = sections(write_report(old).read_text())
    assert "compress.json version 1: drop and budget read on the test split" in found[
        "compression"]


def test_half_written_run_still_gets_a_report(runs, tmp_path):
    half = tmp_path / "half"
    shutil.copytree(runs["healthy"], half)
    for name in ("metrics.json", "history.jsonl", "probes.jsonl"):
        (half / name).unlink()
    shutil.rmtree(half / "model")
    found = sections(write_report(half).read_text())
    assert list(found) == list(SECTION_IDS)
    assert "the run did not finish" in found["summary"]
    assert "no history.jsonl" in found["curves"]
    assert "task is unknown" in found["evaluation"]


def test_study_without_a_complete_trial(runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(runs["healthy"], run)
    (run / "study").mkdir()
    study = optuna.create_study(study_name="healthy",
                                storage=f"sqlite:///{run / 'study' / 'study.db'}")
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)
    found = sections(write_report(run).read_text())
    assert "no complete trial" in found["study"]
    assert "fail" in found["study"]


def test_not_a_run_dir_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a honed run dir" in err
    assert not (tmp_path / "report.html").exists()


def _assert_not_blank(path) -> None:
    """The screenshot exists and holds more than one colour (the page really drew)."""
    from PIL import Image

    assert path.is_file() and path.stat().st_size > 10_000
    image = Image.open(path).convert("L").resize((100, 240))
    low, high = image.getextrema()
    assert high - low > 100, "the screenshot is blank"
    assert len(image.getcolors(256)) > 20


@pytest.fixture(autouse=True)
def _quiet_optuna():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
