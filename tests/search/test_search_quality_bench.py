"""bench/search_quality.py: its spaces are valid specs with the documented default points, and
its summary ships, pairs and bootstraps as the README says."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import yaml

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from search_quality import PEERS, jobs_for  # noqa: E402
from search_quality_data import materialize  # noqa: E402
from search_quality_summary import bootstrap_ci, shipped, time_to_test  # noqa: E402

from honed.spec import spec_from_dict  # noqa: E402

#: what search_quality_data.materialize adds to a space's data (a generated file); the spaces
#: it adds nothing to name their built-in source themselves
SOURCES = {"mnist1d_families": {"source": "builtin:mnist1d"},
           "table_preprocess": {"source": "t.csv", "target": "label"},
           "mnist_augment": {}, "digits_smoke": {}}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_space_is_a_valid_spec(name, tmp_path):
    raw = yaml.safe_load((BENCH / "spaces" / f"{name}.yaml").read_text())
    assert raw.pop("target") > 0 and raw.pop("trial_s") > 0
    if not SOURCES[name]:
        assert materialize(name, tmp_path) == {} and raw["data"]["source"].startswith(
            "builtin:")
    raw["data"] = {**raw["data"], **SOURCES[name]}
    default = spec_from_dict(raw).default
    if name == "mnist1d_families":  # the strong point, not the first option of each choice
        assert (default.model.family, default.model.channels, default.model.kernel_size,
                default.train.batch_size) == ("cnn", [32, 64, 64], 3, 32)
    if name == "mnist_augment":  # three blocks: two, the first option, reach 0.84 alone
        assert (default.model.family, default.model.channels) == ("cnn", [32, 64, 128])


def test_peers_are_valid_search_sections():
    raw = yaml.safe_load((BENCH / "spaces" / "digits_smoke.yaml").read_text())
    del raw["target"], raw["trial_s"]
    for search in PEERS.values():
        spec_from_dict({**raw, "search": {"timeout": 60, **search}})


def test_peers_alternate_within_a_seed():
    jobs = jobs_for(["a"], ["x", "y", "z"], range(2))
    assert [p for _, p, _ in jobs] == ["x", "y", "z", "y", "z", "x"]


def test_shipped_model_is_the_best_completed_by_the_mark():
    row = {"incumbents": [[10.0, 0.9, 0.88], [50.0, 0.95, 0.93]]}
    assert math.isnan(shipped(row, 5))
    assert shipped(row, 10) == 0.88 and shipped(row, 49) == 0.88 and shipped(row, 60) == 0.93
    assert time_to_test(row, 0.9) == 50.0 and time_to_test(row, 0.99) == math.inf


def test_bootstrap_interval_brackets_the_mean_and_excludes_zero_only_when_clear():
    low, high = bootstrap_ci([0.01, 0.02, 0.015, 0.012, 0.018])
    assert 0 < low <= 0.015 <= high
    low, high = bootstrap_ci([0.02, -0.02, 0.01, -0.01, 0.0])
    assert low < 0 < high
