"""The choice of the shipped variant: interleaved rounds, per-round ratios, batch 64 first."""

from __future__ import annotations

import pytest

from honed.compress.table import choose, why_none
from honed.compress.timing import interleaved_samples, latency_and_speedup, median_speedup


def _rows(samples, budget=None):
    """Rows as time_rows fills them, from given per-round samples (``{batch: {name: [...]}}``)."""
    rows = []
    for name in samples[64]:
        latency, speedup = latency_and_speedup(samples, name, "baseline")
        rows.append({"name": name, "latency_ms": latency, "speedup": speedup, "kept": True,
                     "within_budget": (budget or {}).get(name, True), "drop": 0.0,
                     "se": 0.0})
    return rows[0], rows[1:]


def test_every_round_times_every_model_in_a_rotated_order():
    order = []
    calls = {name: (lambda name=name: order.append(name)) for name in "abc"}
    samples = interleaved_samples(calls, rounds=3, repeats=1, warmup=0)
    assert order == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert {name: len(values) for name, values in samples.items()} == {"a": 3, "b": 3, "c": 3}


def test_the_ratio_is_taken_round_by_round():
    # load hit rounds 2 and 3 for both models: the ratio of each round is still 2
    assert median_speedup([1.0, 8.0, 6.0], [0.5, 4.0, 3.0]) == 2.0
    with pytest.raises(ValueError, match="same rounds"):
        median_speedup([1.0, 2.0], [1.0])


def test_a_variant_slower_in_every_round_is_not_chosen_though_one_round_favours_it():
    # the int8 model is 1.29x slower in every round but one, where load hit the baseline:
    # timed once each, in sequence, that one round alone would have chosen it
    base64 = [1.0, 1.0, 5.0, 1.0, 1.0, 1.0, 1.0]
    samples = {1: {"baseline": [1.0] * 7, "int8": [1.29] * 7},
               64: {"baseline": base64, "int8": [1.29] * 7}}
    baseline, rows = _rows(samples)
    assert rows[0]["speedup"]["batch64"] == pytest.approx(1 / 1.29, abs=1e-3)
    assert choose(baseline, rows) is None
    assert "int8" in why_none(rows) and "0.78x at batch 64" in why_none(rows)


def test_the_largest_speedup_at_batch_64_within_budget_is_chosen():
    samples = {1: {"baseline": [1.0] * 5, "pruned": [0.9] * 5, "over": [0.1] * 5,
                   "slow1": [1.5] * 5, "noise": [0.98] * 5},
               64: {"baseline": [10.0, 30.0, 10.0, 10.0, 20.0], "pruned": [5.0, 15.0, 5.0, 5.0, 10.0],
                    "over": [1.0] * 5, "slow1": [2.0] * 5, "noise": [9.8, 29.4, 9.8, 9.8, 19.6]}}
    baseline, rows = _rows(samples, budget={"over": False})
    # over: out of budget; slow1: 5x at batch 64 but 1.5x slower at batch 1; noise: 1.02x
    assert choose(baseline, rows) == "pruned"
    assert choose(baseline, [r for r in rows if r["name"] != "pruned"]) is None


def test_why_none_names_the_budget_when_nothing_is_within_it():
    samples = {1: {"baseline": [1.0], "a": [0.5]}, 64: {"baseline": [1.0], "a": [0.5]}}
    baseline, rows = _rows(samples, budget={"a": False})
    rows[0]["drop"], rows[0]["se"] = 0.3, 0.05
    assert choose(baseline, rows) is None
    assert why_none(rows) == ("no variant is within the budget on val (the closest, a, drops "
                              "0.3000 ± 0.0500 there)")


def test_int8_slower_than_its_float_model_is_not_offered():
    from honed.compress.table import _offer_faster_int8

    samples = {1: {"baseline": [1.0] * 3, "pruned": [0.5] * 3, "int8": [2.0] * 3,
                   "pruned+int8": [0.6] * 3},
               64: {"baseline": [10.0] * 3, "pruned": [5.0] * 3, "int8": [8.0] * 3,
                    "pruned+int8": [6.0] * 3}}
    baseline, rows = _rows(samples)
    for row in rows:
        row["kind"] = "onnx" if "int8" in row["name"] else "torch"
        row["settings"] = {"from": "pruned" if row["name"] == "pruned+int8" else "baseline"}
    _offer_faster_int8([baseline, *rows])
    kept = {row["name"]: row["kept"] for row in rows}
    # int8 beats the baseline at batch 64 (1.25x): offered though slower at batch 1;
    # pruned+int8 is slower than the pruned float model at both batches: not offered
    assert kept == {"pruned": True, "int8": True, "pruned+int8": False}
    assert rows[2]["note"].startswith("not kept: slower than its float model (pruned)")
    assert choose(baseline, rows) == "pruned"
