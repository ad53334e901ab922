"""The shipped variant is chosen on the validation split; test is measured for the record only.

Two real variants of a real wine MLP (its head edited so that it never predicts one class: 0 for
``blind0``, 2 for ``blind2``), and splits built so that val and test disagree about them: val
holds class-0 rows (``blind0`` loses them), test holds class-2 rows (``blind2`` loses them).
Chosen on test, ``blind0`` would ship; chosen on val, ``blind2`` does.
"""

from __future__ import annotations

import copy
import dataclasses
import io

import numpy as np
import pytest
import torch
from torch import nn

from honed.compress.candidates import Candidate, float_onnx
from honed.compress.table import choose, measure, why_none
from honed.data.dataset import Split

BUDGET = 0.05


def _source(run, **compress):
    from honed.compress.plan import prepare_source
    from honed.compress.run import resolve_compress
    from honed.rundir import RunDir
    from honed.spec.validate import validate_point
    from honed.spec.yaml_io import read_yaml

    run = RunDir(run)
    spec = resolve_compress(validate_point(read_yaml(run.spec)),
                            {"max_accuracy_drop": BUDGET, "prune": {"amount": 0.3}, **compress})
    source = prepare_source(run, spec)
    source.exporter = "torchscript"
    return source


def _blind(model: nn.Module, label: int) -> nn.Module:
    """A copy of ``model`` that never predicts ``label`` (its head's bias for it pushed down)."""
    blind = copy.deepcopy(model)
    head = [m for m in blind.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        head.bias[label] -= 100.0
    return blind.eval()


def _disagreeing_splits(source):
    """val: 10 class-0 rows and 30 class-1 rows; test: 10 class-2 rows and 30 other class-1
    rows; every row one the run's model gets right."""
    from honed.train.evaluate import predict

    data = source.data
    x = np.concatenate([data.train.x, data.val.x, data.test.x])
    y = np.concatenate([data.train.y, data.val.y, data.test.y])
    right = predict(source.model, x).numpy().argmax(1) == y
    rows = {label: np.flatnonzero(right & (y == label)) for label in (0, 1, 2)}
    assert min(len(rows[0]), len(rows[2])) >= 10 and len(rows[1]) >= 60
    val = np.concatenate([rows[0][:10], rows[1][:30]])
    test = np.concatenate([rows[2][:10], rows[1][30:60]])
    source.data = dataclasses.replace(data, val=Split(x[val], y[val]),
                                      test=Split(x[test], y[test]))
    source.baseline_outputs = None


def test_the_choice_follows_val_not_test(wine_run, tmp_path):
    source = _source(wine_run)
    _disagreeing_splits(source)
    base_row, _ = measure(source, Candidate("baseline", "torch", "none", module=source.model),
                          tmp_path)
    assert base_row["val"]["accuracy"] == base_row["test"]["accuracy"] == 1.0
    assert base_row["drop"] is None and base_row["test_drop"] is None
    blind0 = Candidate("blind0", "torch", "test", module=_blind(source.model, 0))
    # blind2 as an int8-like ONNX variant: its metrics come from ONNX Runtime's outputs
    module2 = _blind(source.model, 2)
    path = float_onnx(source, Candidate("blind2", "torch", "test", module=module2),
                      tmp_path / "blind2")
    blind2 = Candidate("blind2", "onnx", "test", module=module2, onnx_path=path)
    rows = [measure(source, c, tmp_path, baseline=base_row)[0] for c in (blind0, blind2)]
    zero, two = rows
    # blind0 loses 10 of 40 val rows and no test row; blind2 the reverse
    assert zero["drop"] == pytest.approx(0.25) and zero["test_drop"] == 0
    assert two["drop"] == 0 and two["test_drop"] == pytest.approx(0.25)
    assert zero["se"] > 0 and zero["drop"] - zero["se"] > BUDGET  # beyond the noise too
    assert zero["val"]["accuracy"] == two["test"]["accuracy"] == 0.75
    assert not zero["within_budget"] and two["within_budget"]
    # both clearly faster than the baseline, blind0 the fastest: val alone decides
    for row, speed in zip(rows, (3.0, 2.0), strict=True):
        row["speedup"] = {"batch1": speed, "batch64": speed}
    assert choose(base_row, rows) == "blind2"
    two["kept"] = False
    assert choose(base_row, rows) is None
    assert why_none(rows) == ("no variant is within the budget on val (the closest, blind0, "
                              f"drops 0.2500 ± {zero['se']:.4f} there)")


def test_a_run_without_val_rows_is_refused_in_one_line(wine_run, capsys):
    from honed.cli.main import main

    spec = wine_run / "spec.yaml"
    text = spec.read_text()
    assert "split: {val: 0.15," in text
    spec.write_text(text.replace("split: {val: 0.15,", "split: {val: 0.0,"))
    before = sorted(p.name for p in wine_run.iterdir())
    assert main(["compress", str(wine_run), "prune.amount=0.3", "--quiet"]) == 2
    err = capsys.readouterr().err
    # the spec refuses an empty val split: the variant is chosen on val, never on test
    assert "data.split.val must be greater than 0; got 0.0" in err and err.count("\n") == 1
    assert sorted(p.name for p in wine_run.iterdir()) == before


def test_the_printed_table_shows_the_val_drop_and_the_test_metric_in_80_columns():
    from rich.console import Console

    from honed.compress.view import print_table

    def row(name, drop, test, flag=True, kept=True):
        return {"name": name, "method": "m", "kind": "torch", "val": {"accuracy": 0.9},
                "test": {"accuracy": test}, "drop": drop, "se": 0.01, "test_drop": 0.0,
                "within_budget": flag, "kept": kept, "parameters": 1_234_567,
                "size_bytes": 4_938_268, "latency_ms": {"batch1": 0.0512, "batch64": 1.2346},
                "speedup": {"batch1": 1.02, "batch64": 12.34}}

    table = {"metric": "accuracy", "threads": 1, "budget": {"max_drop": 0.01},
             "chosen": "structured-50+int8-dynamic", "baseline": row("baseline", None, 0.9852),
             "variants": [row("structured-50+int8-dynamic", 0.0111, 0.9778),
                          row("student-alone+int8-dynamic", 0.0519, 0.9963, flag=False),
                          row("search-012", -0.0037, 0.9444, kept=False)]}
    console = Console(file=io.StringIO(), width=80, color_system=None)
    print_table(table, console)
    out = console.file.getvalue()
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "val drop" in out and "test" in out
    for text in ("+0.0111", "0.9778", "+0.0519", "-0.0037", "0.9852", "12.34", "4.94 MB",
                 "structured-50+int8-dynamic", "student-alone+int8-dynamic", "chosen",
                 "over budget", "not kept", "1.235 ms at batch 64"):
        assert text in out, text
