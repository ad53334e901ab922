"""The compress stage of ``honed run``: on with a compress section, skipped when up to date."""

from __future__ import annotations

import json

from honed.pipeline import run
from honed.spec import spec_from_dict

RAW = {"name": "stage", "data": {"source": "builtin:wine"},
       "model": {"family": "mlp", "hidden": 16},
       "train": {"epochs": 3, "optimizer": {"lr": 0.01}, "threads": 1},
       "compress": {"prune": {"method": "structured", "amount": 0.5}, "threads": 1}}


def test_stage_runs_after_test_and_is_skipped_when_done(tmp_path):
    out = tmp_path / "run"
    outcome = run(spec_from_dict(RAW), out_dir=out, progress=False)
    ran = [(s.name, s.status) for s in outcome.stages
           if s.name in ("tune", "refit", "test", "compress")]  # other stages may sit between
    assert ran == [("tune", "off"), ("refit", "ran"), ("test", "ran"), ("compress", "ran")]
    table = json.loads((out / "compress" / "compress.json").read_text())
    assert table["model"] == outcome.metrics["refit"]["fingerprint"]
    assert [r["name"] for r in table["variants"]] == ["structured-50"]
    again = run(spec_from_dict(RAW), out_dir=out, progress=False)
    assert ("compress", "skipped") in [(s.name, s.status) for s in again.stages]
    # a version-1 table chose on the test split: it is not done, and its choice is not shipped
    from honed.pipeline import RunContext
    from honed.rundir import RunDir
    from honed.spec.template import load_spec
    from honed.stages import Compress
    from honed.stages.export import chosen_variant

    context = RunContext(load_spec(out / "spec.yaml"), RunDir(out))
    assert Compress().done(context)
    path = out / "compress" / "compress.json"
    path.write_text(json.dumps({**table, "version": 1, "chosen": "structured-50"}))
    assert not Compress().done(context)
    assert chosen_variant(out, table["model"]) is None


def test_stage_is_off_without_a_compress_section(tmp_path):
    raw = {key: value for key, value in RAW.items() if key != "compress"}
    outcome = run(spec_from_dict(raw), out_dir=tmp_path / "run", progress=False)
    assert ("compress", "off") in [(s.name, s.status) for s in outcome.stages]
    assert not (tmp_path / "run" / "compress").exists()
