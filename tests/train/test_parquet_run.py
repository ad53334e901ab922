"""``honed train`` on a streamed Parquet table writes the run an in-memory one writes: the same
recipe and weights, so what honed predict and honed serve replay is unaffected."""

from __future__ import annotations

import json

from honed.spec.template import spec_from_dict
from honed.train.session import train_spec
from tests.train.test_parquet_streaming import write_table


def test_a_streamed_run_writes_the_in_memory_runs_model(tmp_path):
    write_table(tmp_path / "t.parquet", rows=600)
    runs = {}
    for stream in (False, True):
        raw = {"name": "pq", "data": {"source": "t.parquet", "target": "label", "stream": stream,
                                      "workers": 1},
               "model": {"family": "mlp", "hidden": 8},
               "train": {"epochs": 2, "batch_size": 64}}
        out = tmp_path / f"run_{stream}"
        train_spec(spec_from_dict(raw, base_dir=tmp_path), out_dir=out, progress=False)
        history = [{k: v for k, v in json.loads(line).items() if k != "seconds"}
                   for line in (out / "history.jsonl").read_text().splitlines()]
        runs[stream] = (history, (out / "model" / "preprocess.json").read_bytes(),
                        (out / "model" / "weights.safetensors").read_bytes())
    assert runs[True] == runs[False]
