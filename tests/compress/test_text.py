"""honed compress on text runs: which compressor applies to which text family (docs/text.md).

Magnitude pruning, int8 (dynamic and static) and distillation work on every text family;
structured pruning is refused with one line, before anything is written.
"""

from __future__ import annotations

import json

import pytest
import torch

from honed.cli.main import main
from honed.compress import compress_run
from honed.data import apply_preprocess
from honed.models import load_model
from tests.compress.conftest import FAST, _train
from tests.text_corpus import write_reviews


def _text_run(folder, family):
    source = write_reviews(folder, n=120)
    return _train(folder / family, {
        "name": family, "data": {"source": str(source), "target": "label", "text": ["review"],
                                 "features": ["review"],
                                 "tokenizer": {"max_length": 12, "min_frequency": 1}},
        "model": {"family": family, "embedding_dim": 8},
        "train": {"epochs": 2, "batch_size": 16, "optimizer": {"name": "adamw", "lr": 0.02},
                  "threads": 1, "probes": False}})


def test_magnitude_pruning_and_dynamic_int8_on_a_text_run(tmp_path):
    # every text family: bench/text_compress_matrix.py (an ONNX export costs ~10 s each)
    run = _text_run(tmp_path, "embedbag")
    report = compress_run(run, {"prune": {"method": "magnitude", "amount": 0.5,
                                          "finetune_epochs": 1},
                                "quantize": {"mode": "dynamic"}, "threads": 1}, timing=FAST)
    names = [row["name"] for row in report.table["variants"]]
    assert names == ["magnitude-50", "int8-dynamic", "magnitude-50+int8-dynamic"]
    for row in report.table["variants"]:
        assert 0.0 <= row["test"]["accuracy"] <= 1.0, row  # measured, not failed
    folder = run / "compress" / "magnitude-50" / "model"  # a torch variant is always written
    preprocess = json.loads((folder / "preprocess.json").read_text())
    with torch.no_grad():
        out = load_model(folder)(torch.as_tensor(apply_preprocess(preprocess, ["a great film"])))
    assert out.shape == (1, 2)


def test_static_int8_and_distillation_on_a_text_run(tmp_path):
    run = _text_run(tmp_path, "transformer")
    report = compress_run(run, {"quantize": {"mode": "static", "samples": 32},
                                "distill": {"student": {"family": "embedbag",
                                                        "embedding_dim": 4}, "epochs": 2},
                                "threads": 1}, timing=FAST)
    student = next(row for row in report.table["variants"]
                   if row["name"] in ("distilled", "student-alone") and row["kept"])
    # the student reads the run's token ids: its folder carries the vocabulary and tokenizer
    folder = run / "compress" / student["name"] / "model"
    assert json.loads((folder / "model.json").read_text())["knobs"]["vocab_size"] > 3
    assert (folder / "tokenizer.json").is_file()
    assert load_model(folder)(torch.zeros(1, 12)).shape == (1, 2)
    assert report.row("int8-static")["test"]["accuracy"] >= 0.0


@pytest.mark.parametrize("family", ["cnn", "lstm"])
def test_structured_pruning_of_a_text_run_is_one_line_and_writes_nothing(family, tmp_path,
                                                                        capsys):
    run = _text_run(tmp_path, family)
    before = sorted(p.name for p in run.iterdir())
    assert main(["compress", str(run), "prune.method=structured", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "use method magnitude" in err and family in err
    assert sorted(p.name for p in run.iterdir()) == before


def test_int8_and_distillation_on_text_beside_table_columns(tmp_path):
    from tests.text_corpus import train_mixed_run

    run = train_mixed_run(tmp_path, "gru", epochs=2)
    report = compress_run(run, {"quantize": {"mode": "dynamic"},
                                "distill": {"student": {"family": "embedbag",
                                                        "embedding_dim": 4}, "epochs": 1},
                                "threads": 1}, timing=FAST)
    assert report.row("int8-dynamic")["test"]["accuracy"] >= 0.0  # measured, not failed
    # the student reads [ids | features] too: the data's knobs travel with it
    folder = run / "compress" / "student-alone" / "model"
    knobs = json.loads((folder / "model.json").read_text())["knobs"]
    assert knobs["tabular_features"] == 4 and knobs["vocab_size"] > 3
    assert load_model(folder)(torch.zeros(1, 12 + 4)).shape == (1, 2)
