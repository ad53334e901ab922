"""The doctor on runs built to show each pathology, and on a healthy run (no finding)."""

from __future__ import annotations

import json
import shutil

import pytest

from honed.cli.main import main
from honed.errors import UserInputError
from honed.report.checks import lr_low
from honed.report.checks.base import already_set
from honed.report.doctor import diagnose, format_diagnosis, summary_lines
from honed.report.evidence import Evidence
from honed.spec.yaml_io import read_yaml
from tests.report.corpus import CASES, build_case

QUICK = [case for case in CASES if case.quick]


def checks(run_dir) -> dict:
    return {f.check: f for f in diagnose(run_dir).findings}


def test_healthy_run_gets_no_finding(runs, capsys):
    diagnosis = diagnose(runs["healthy"])
    assert diagnosis.findings == [], format_diagnosis(diagnosis)
    assert diagnosis.notes == []
    assert summary_lines(diagnosis) == ["doctor: no problem found"]
    assert main(["doctor", str(runs["healthy"])]) == 0
    assert "no problem found" in capsys.readouterr().out


def test_honed_train_ends_with_the_doctor(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: w\ndata: {source: 'builtin:wine'}\nmodel: {family: mlp, hidden: 8}\n"
                    "train: {epochs: 4, optimizer: {name: sgd, lr: 1.0e-6}}\n")
    assert main(["train", str(spec), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "doctor: learning rate too low" in out and "honed doctor" in out


def test_probes_are_recorded_once_per_epoch(runs):
    lines = [json.loads(line) for line in
             (runs["healthy"] / "probes.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in lines] == list(range(1, 13))
    last = lines[-1]
    assert set(last["grad_norm"]) >= {"body.0", "head"} and last["samples"] >= 1
    assert all(0 < ratio < 1 for ratio in last["update_ratio"].values())
    assert all(0 <= share <= 1 for share in last["dead_units"].values())


def test_learning_rate_of_10_diverges(runs):
    found = checks(runs["diverged"])
    assert "lr_high" in found
    finding = found["lr_high"]
    assert "diverged" in finding.evidence
    assert "train.optimizer.lr=1" in finding.changes
    assert "train.clip={norm: 1.0}" in finding.changes
    assert "underfitting" not in found and "lr_low" not in found  # explained by the lr


def test_tiny_net_underfits(runs):
    found = checks(runs["underfit"])
    assert list(found) == ["underfitting"], found
    assert "train accuracy" in found["underfitting"].evidence
    assert any(c.startswith("model.hidden={int:") for c in found["underfitting"].changes)


def test_no_regularization_on_a_tiny_split_overfits(runs):
    found = checks(runs["overfit"])
    assert "overfitting" in found, found
    finding = found["overfitting"]
    assert "val loss" in finding.evidence and "while train loss fell" in finding.evidence
    assert "model.dropout={float: [0.2, 0.5]}" in finding.changes
    assert "train.optimizer.weight_decay=0.001" in finding.changes


def test_learning_rate_too_low(runs):
    found = checks(runs["slow"])
    assert list(found) == ["lr_low"], found
    assert "update-to-weight ratio" in found["lr_low"].evidence
    assert "train.optimizer.lr=1e-05" in found["lr_low"].changes


def test_vanishing_gradients(runs):
    found = checks(runs["vanishing"])
    assert list(found) == ["gradients"], found  # the tiny updates are its symptom
    assert "vanishing" in found["gradients"].verdict
    assert found["gradients"].changes[:2] == ["model.activation=relu", "model.init=he"]


def test_early_stopping_too_soon(runs):
    found = checks(runs["impatient"])
    assert list(found) == ["early_stop"], found
    assert "patience 1" in found["early_stop"].evidence
    assert "train.early_stopping.patience=5" in found["early_stop"].changes


def test_dead_relu_units(runs):
    found = checks(runs["dead"])
    assert list(found) == ["dead_units"], found  # the flat loss is its symptom
    assert "100%" in found["dead_units"].evidence
    assert "model.activation=leaky_relu" in found["dead_units"].changes


def test_class_imbalance(runs):
    found = checks(runs["imbalanced"])
    assert "class_imbalance" in found, found
    assert "train.monitor=val.f1" in found["class_imbalance"].changes


def test_search_with_best_trials_on_a_bound(study_run):
    found = checks(study_run)
    assert "search_bounds" in found, found
    finding = found["search_bounds"]
    assert "train.optimizer.lr" in finding.evidence and "high bound" in finding.evidence
    assert "train.optimizer.lr={float: [0.001, 0.016], step: 0.002}" in finding.changes


def test_half_written_run_is_diagnosed_with_notes(runs, tmp_path):
    half = tmp_path / "half"
    shutil.copytree(runs["healthy"], half)
    (half / "metrics.json").unlink()
    shutil.rmtree(half / "model")
    with open(half / "history.jsonl", "a") as handle:
        handle.write('{"epoch": 13, "tra')  # a line torn by a kill
    diagnosis = diagnose(half)
    assert any("did not finish" in note for note in diagnosis.notes)
    (half / "probes.jsonl").unlink()
    (half / "history.jsonl").unlink()
    diagnosis = diagnose(half)
    assert diagnosis.findings == []
    assert any("no history.jsonl" in note for note in diagnosis.notes)


def test_not_a_run_dir(tmp_path, capsys):
    with pytest.raises(UserInputError, match="not a honed run dir"):
        diagnose(tmp_path)
    assert main(["doctor", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a folder" in err


def test_doctor_json(runs, capsys):
    assert main(["doctor", str(runs["diverged"]), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["findings"][0]["check"] == "lr_high"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    """The corpus's quick slice, each run built on first use."""
    root = tmp_path_factory.mktemp("corpus")

    class Built(dict):
        def __getitem__(self, case):
            if case.name not in self:
                self[case.name] = build_case(case, root)
            return dict.__getitem__(self, case.name)

    return Built()


@pytest.mark.parametrize("case", QUICK, ids=[case.name for case in QUICK])
def test_corpus_slice(corpus, case):
    """A healthy run gets no finding; a pathology gets its own (and nothing unexplained)."""
    diagnosis = diagnose(corpus[case])
    found = {finding.check for finding in diagnosis.findings}
    assert found - case.allow == set(case.expect), format_diagnosis(diagnosis)
    for finding in diagnosis.findings:
        assert "-0.0" not in finding.evidence, finding  # no negative "excess" as evidence


def test_a_diverged_run_is_named_first_and_alone(corpus):
    case = next(c for c in QUICK if c.name == "lr_high/digits-adamw-1000")
    findings = diagnose(corpus[case]).findings
    assert [f.check for f in findings] == ["lr_high"]  # the dead ReLUs are its symptom
    assert findings[0].verdict == "learning rate too high: training diverged"
    assert "the loss diverged" in findings[0].evidence
    assert findings[0].changes[:2] == ["train.optimizer.lr=auto", "train.optimizer.lr=100"]


def test_no_change_proposed_that_the_spec_already_holds(corpus, tmp_path):
    case = next(c for c in QUICK if c.name == "imbalance/95-5")
    before = {f.check: f for f in diagnose(corpus[case]).findings}["class_imbalance"]
    assert {"train.monitor=val.f1", "data.augment.mixup=0.2"} <= set(before.changes)
    copy = tmp_path / "run"
    shutil.copytree(corpus[case], copy)
    spec = read_yaml(copy / "spec.yaml")
    spec["train"]["monitor"] = "val.f1"
    spec["data"]["augment"]["mixup"] = 0.2
    (copy / "spec.yaml").write_text(json.dumps(spec))  # JSON is YAML
    after = {f.check: f for f in diagnose(copy).findings}["class_imbalance"]
    assert after.changes == [c for c in before.changes if c not in (
        "train.monitor=val.f1", "data.augment.mixup=0.2")]


def test_already_set_compares_values_not_text():
    spec = {"train": {"clip": {"norm": 1.0, "value": None}, "optimizer": {"lr": 0.001}}}
    assert already_set(spec, "train.clip={norm: 1.0}")
    assert already_set(spec, "train.optimizer.lr=1e-3")
    assert not already_set(spec, "train.optimizer.lr=1e-4")
    assert not already_set(spec, "train.clip={norm: 1.0, value: 2}")
    assert not already_set(spec, "model.dropout=0.2")  # not in the spec at all


def test_a_model_at_chance_where_a_baseline_learns_is_told_to_train_longer(tmp_path):
    # wine in 5 epochs of 2 batches: the MLP is still at chance, logistic regression is not
    spec = tmp_path / "s.yaml"
    spec.write_text("name: w\ndata: {source: 'builtin:wine'}\nmodel: {family: mlp, hidden: 16}\n"
                    "train: {epochs: 5, monitor: val.accuracy}\n")
    assert main(["train", str(spec), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    baselines = json.loads((tmp_path / "r" / "metrics.json").read_text())["baselines"]
    assert baselines["best"] == "logistic" and baselines["beats_baseline"] is False
    finding = checks(tmp_path / "r")["chance"]
    assert finding.verdict.startswith("no learning yet") and "logistic" in finding.verdict
    assert "do the features predict" not in finding.verdict
    assert finding.changes == ["train.epochs=20", "train.optimizer.lr=auto"]


def test_tiny_updates_with_a_falling_loss_do_not_claim_a_flat_loss(tmp_path):
    # seen on the MNIST subset: the loss fell 74% while the updates stayed tiny
    history = [{"epoch": e, "train": {"loss": loss, "accuracy": accuracy},
                "val": {"loss": loss, "accuracy": accuracy}}
               for e, (loss, accuracy) in enumerate(
                   [(2.2, 0.2), (1.4, 0.45), (0.9, 0.6), (0.57, 0.7)], start=1)]
    probes = [{"epoch": e, "update_ratio": {"conv.0": 5e-5, "head": 4e-5}} for e in (1, 2, 3, 4)]
    evidence = Evidence(tmp_path, {"train": {"optimizer": {"lr": 0.002}}},
                        {"task": "classification"}, history, probes)
    finding = lr_low.check(evidence)
    assert finding.verdict == "learning rate likely too low: tiny updates, still far from a fit"
    assert "(-74.1%)" in finding.evidence and "train.optimizer.lr=0.02" in finding.changes
    flat = [{**line, "train": {"loss": 2.2 - 0.01 * i, "accuracy": 0.2}}
            for i, line in enumerate(history + history[-1:])]
    finding = lr_low.check(Evidence(tmp_path, evidence.spec, evidence.metrics, flat, probes))
    assert finding.verdict == "learning rate too low: the loss barely moves"
