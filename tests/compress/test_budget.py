"""The accuracy budget on val, read with the split's noise (the one-standard-error rule)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from honed.compress.budget import Verdict, paired_drop


def _lost(rows: int, lost: int, gained: int = 0):
    base = np.ones(rows, bool)
    base[:gained] = False  # rows the variant gets right and the baseline does not
    variant = base.copy()
    variant[:gained] = True
    variant[gained:gained + lost] = False
    return paired_drop(base, variant)


def test_only_rows_where_the_models_disagree_count():
    drop, se = _lost(270, 3)
    assert drop == pytest.approx(3 / 270) and se == pytest.approx(0.00639, abs=1e-5)
    assert paired_drop(np.ones(50, bool), np.ones(50, bool)) == (0.0, 0.0)
    # 3 lost and 3 gained: no drop, but twice the disagreement of 3 lost alone
    drop, se_mixed = _lost(270, 3, gained=3)
    assert drop == 0 and se_mixed > se


@pytest.mark.parametrize("rows,lost,within", [
    (270, 3, True),     # 1.1 points on digits' val: three rows, within noise of 1 point
    (270, 4, True),     # 1.5 points: one standard error is 0.0074
    (270, 5, False),
    (270, 8, False),    # the quick start's first round under the old 4-epoch fine-tuning
    (750, 10, True), (750, 11, False), (10_000, 110, True), (10_000, 111, False),  # a large val: nearly the plain rule
])
def test_a_variant_is_out_of_budget_only_beyond_one_standard_error(rows, lost, within):
    drop, se = _lost(rows, lost)
    verdict = Verdict(1 - drop, drop, se, 0.01)
    assert verdict.within is within
    assert verdict.record()["within_budget"] is within
    assert Verdict(0.5, 0.5, 0.0, None).within  # no budget: everything is within


def test_the_verdict_compares_with_the_runs_model_on_val(digits_run):
    from honed.compress.budget import budget_check, source_val, val_metric
    from honed.compress.candidates import Candidate
    from honed.compress.plan import prepare_source
    from honed.compress.run import resolve_compress
    from honed.rundir import RunDir
    from honed.spec.validate import validate_point
    from honed.spec.yaml_io import read_yaml

    run = RunDir(digits_run)
    spec = resolve_compress(validate_point(read_yaml(run.spec)), {"max_accuracy_drop": 0.01,
                                                                  "prune": {"amount": 0.5}})
    source = prepare_source(run, spec)
    check = budget_check(source)
    same = check(copy.deepcopy(source.model))
    assert same.drop == 0 and same.se == 0 and same.within
    assert same.value == pytest.approx(source_val(source))
    broken = copy.deepcopy(source.model)
    for parameter in broken.head.parameters():
        parameter.data.zero_()  # every output equal: class 0 always
    verdict = check(broken)
    value = val_metric(source, Candidate("broken", "torch", "none", module=broken))
    assert verdict.value == pytest.approx(value) and value < 0.2
    assert verdict.drop == pytest.approx(source_val(source) - value)
    assert not verdict.within and "drop" in str(verdict)
