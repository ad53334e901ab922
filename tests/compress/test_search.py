"""The budgeted multi-objective search over compression settings."""

from __future__ import annotations

import pytest

from honed.compress import compress_run, load_variant
from tests.compress.conftest import FAST


@pytest.mark.parametrize("sampler", ["nsga2", "tpe"])
def test_search_keeps_the_feasible_pareto_set_as_ready_variants(wine_run, sampler):
    spec = {"search": {"trials": 5, "sampler": sampler, "methods": ["none", "magnitude",
                                                                   "structured"],
                       "amount": [0.3, 0.7], "quantize": ["none", "dynamic"], "seed": 1},
            "prune": {"finetune_epochs": 1}, "max_accuracy_drop": 0.05, "threads": 1}
    report = compress_run(wine_run, spec, timing=FAST, exporter="torchscript")
    search = report.table["search"]
    assert len(search["trials"]) == 5 and search["sampler"] == sampler
    pareto = [t for t in search["trials"] if t["pareto"]]
    assert pareto and all(t["feasible"] for t in pareto)
    # feasible: the val drop within the budget by one standard error (compress/budget.py)
    assert all(t["drop"] - t["se"] <= 0.05 + 1e-9 for t in pareto)
    names = [row["name"] for row in report.table["variants"]]
    # the prune section builds its own variant, and sets the search's fine-tuning
    assert names == ["magnitude-50", *(f"search-{t['number']:03d}" for t in pareto)]
    for row in report.table["variants"][1:]:
        assert set(row["settings"]) >= {"prune", "quantize", "trial", "objectives"}
        # the trial's val metric is the row's, measured again for the table
        assert row["settings"]["objectives"]["val_metric"] == pytest.approx(
            row["val"]["accuracy"], abs=1e-6)
        assert row["within_budget"]  # feasible in the search: the same rule on the same val
        if not row["kept"]:  # int8 slower than its float model here: shown, not offered
            assert row["note"].startswith("not kept: slower than its float model")
            continue
        variant = load_variant(wine_run, row["name"])
        assert (variant.module is not None) == (row["kind"] == "torch")


def test_search_over_distillation_settings(wine_run):
    spec = {"distill": {"student": {"family": "mlp", "hidden": 64}, "epochs": 2},
            "search": {"trials": 2, "methods": ["structured"], "quantize": ["none"],
                       "width": [0.5, 1.0], "temperature": [2.0, 4.0], "alpha": [0.5, 0.9]},
            "max_accuracy_drop": 1.0, "threads": 1}
    report = compress_run(wine_run, spec, timing=FAST, exporter="torchscript")
    trials = report.table["search"]["trials"]
    assert {"width", "temperature", "alpha"} <= set(trials[0]["params"])
    assert all(2.0 <= t["params"]["temperature"] <= 4.0 for t in trials)
    # with a budget this loose every trial is feasible; the plain student, trained alone and
    # distilled, comes first
    assert report.table["budget"]["max_drop"] == 1.0
    names = [r["name"] for r in report.table["variants"]]
    assert names[:2] == ["student-alone", "distilled"]
    for row in report.table["variants"][2:]:  # pruned students save as students
        student = load_variant(wine_run, row["name"])
        width = student.module.body[0].out_features  # of 64 or 32: multiples of 16
        assert width < 64 and width % 16 == 0
        assert "family: mlp" in (student.folder / "spec.yaml").read_text()


def test_search_ranges_are_checked(wine_run, capsys):
    from honed.cli.main import main

    code = main(["compress", str(wine_run), "search.amount=[0.8, 0.2]", "--quiet"])
    assert code == 2 and "inverted range" in capsys.readouterr().err
    assert not (wine_run / "compress").exists()
