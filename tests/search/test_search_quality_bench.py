"""bench/search_quality.py: its spaces are valid specs with the documented default points, and
its summary ships, pairs and bootstraps as the README says."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from search_quality import PEERS, jobs_for, load_space, search_section, spec_part  # noqa: E402
from search_quality_data import materialize  # noqa: E402
from search_quality_summary import (  # noqa: E402
    bootstrap_ci,
    machines,
    shipped,
    summarize,
    time_to_test,
)

from honed.spec import spec_from_dict  # noqa: E402

#: what search_quality_data.materialize adds to a space's data (a generated file); the spaces
#: it adds nothing to name their built-in source themselves
SOURCES = {"mnist1d_families": {"source": "builtin:mnist1d"},
           "mnist1d_fidelity": {"source": "builtin:mnist1d"},
           "table_preprocess": {"source": "t.csv", "target": "label"},
           "mnist_augment": {}, "digits_smoke": {}}


def test_every_space_file_is_checked_here():
    assert sorted(p.stem for p in (BENCH / "spaces").glob("*.yaml")) == sorted(SOURCES)


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_space_is_a_valid_spec(name, tmp_path):
    space = load_space(name)
    assert space["target"] > 0
    raw = spec_part(space)
    if not SOURCES[name]:
        assert materialize(name, tmp_path) == {} and raw["data"]["source"].startswith(
            "builtin:")
    raw["data"] = {**raw["data"], **SOURCES[name]}
    default = spec_from_dict(raw).default
    if name.startswith("mnist1d_"):  # the strong point, not the first option of each choice
        assert (default.model.family, default.model.channels, default.model.kernel_size,
                default.train.batch_size) == ("cnn", [32, 64, 64], 3, 32)
    if name == "mnist_augment":  # three blocks: two, the first option, reach 0.84 alone
        assert (default.model.family, default.model.channels) == ("cnn", [32, 64, 128])


def test_the_fidelity_space_is_the_families_space_with_epochs_5_to_60():
    families, fidelity = load_space("mnist1d_families"), load_space("mnist1d_fidelity")
    assert fidelity["train"] == {**families["train"], "epochs": 60}
    assert fidelity["model"] == families["model"] and fidelity["data"] == families["data"]
    assert search_section(fidelity, "honed-hyperband", 0, 600)["pruner"] == {
        "name": "hyperband", "min_resource": 5}
    assert search_section(families, "honed-hyperband", 0, 600)["pruner"] == "hyperband"
    assert search_section(fidelity, "honed", 0, 600).get("pruner") is None  # auto, a tenth
    # sized by its time, as a user would write it: phase 1 ends after 0.4 of the budget
    assert search_section(fidelity, "honed-c2f", 0, 600)["trials"] == 100000


def test_peers_are_valid_search_sections():
    raw = spec_part(load_space("digits_smoke"))
    for search in PEERS.values():
        spec_from_dict({**raw, "search": {"timeout": 60, **search}})
    pruner = search_section(load_space("mnist1d_fidelity"), "honed-hyperband", 0, 60)["pruner"]
    spec_from_dict({**raw, "search": {"pruner": pruner}})


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


def test_summary_says_when_lines_come_from_more_than_one_machine(capsys):
    def line(peer, seed, cpu=None):
        row = {"space": "s", "peer": peer, "seed": seed, "budget": 600.0, "target": 0.9,
               "complete": [[10.0, 0.9]], "incumbents": [[10.0, 0.9, 0.88 + seed / 100]]}
        return {**row, "cpu": cpu} if cpu else row

    one = [line(p, s, "Xeon") for p in ("honed", "tpe") for s in range(3)]
    assert machines({"honed": {0: one[0]}, "tpe": {0: one[3]}}) is None
    summarize(one, reference="tpe", marks=[600])
    assert "more than one machine" not in capsys.readouterr().out

    mixed = [line("honed", s) for s in range(3)] + [line("tpe", s, "Xeon") for s in range(3)]
    summarize(mixed, reference="tpe", marks=[600])
    out = capsys.readouterr().out
    assert "s: lines from more than one machine (not recorded: honed 3; Xeon: tpe 3)" in out


def test_honed_and_tpe_median_draw_the_same_first_random_points(tmp_path):
    """Common random numbers: seeded alike, honed's trial n + 1 (after its default point) and
    TPE + Median's trial n take the same point while both samplers are in their random
    start-up, so the two searches differ by the default point, the pruners and the modelled
    trials, not by the luck of their first draws. Each sampler is the one honed's search makes
    from the peer's search section (``StudySetup.sampler``), seeded as a fresh study's."""
    import optuna

    from honed.search.default_first import enqueue_default
    from honed.search.space import suggest
    from honed.search.tune import prepare_study

    space = load_space("mnist_augment")

    def points(peer: str, count: int) -> list[dict]:
        raw = {"name": "crn", **spec_part(space), "search": search_section(space, peer, 3, 600)}
        template = spec_from_dict(raw)
        setup = prepare_study(template, out_dir=tmp_path / peer)
        study = optuna.create_study(direction="maximize", sampler=setup.sampler())
        if setup.search.start_at_default:
            enqueue_default(study, template.dimensions)
        drawn = []
        for value in range(count):
            trial = study.ask()
            template.resolve(lambda dim, trial=trial: suggest(trial, dim))
            drawn.append(dict(trial.params))
            study.tell(trial, value / 10)
        return drawn

    honed, tpe_median = points("honed", 4), points("optuna-tpe-median", 3)
    assert honed[1:] == tpe_median and honed[0] != tpe_median[0]
