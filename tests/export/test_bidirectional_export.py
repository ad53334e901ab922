"""Bidirectional recurrent text models export: ONNX Runtime equals eager PyTorch on texts of
mixed lengths (length-1 rows included), for lstm and gru, one and two layers, with table
features beside the text, and through ``honed run`` and ``honed predict`` as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from honed.cli.main import main
from honed.export.onnx import export_onnx
from honed.export.runtime import ort_session
from honed.models import create_model
from tests.text_corpus import write_reviews

MAX_LENGTH = 10
VOCAB = 20


def ids_of(lengths: list[int], seed: int = 0) -> np.ndarray:
    """Right-padded token ids, one row per length (0: an empty text)."""
    rng = np.random.default_rng(seed)
    ids = np.zeros((len(lengths), MAX_LENGTH), dtype=np.int64)
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(1, VOCAB, length)
    return ids


@pytest.mark.parametrize("family", ["lstm", "gru"])
@pytest.mark.parametrize("depth", [1, 2])
def test_a_bidirectional_text_model_exports_equal_to_eager(family, depth, tmp_path):
    torch.manual_seed(0)
    model = create_model(family, input_shape=(MAX_LENGTH,), num_outputs=3, vocab_size=VOCAB,
                         embedding_dim=6, hidden=5, depth=depth, bidirectional=True).eval()
    result = export_onnx(model, (MAX_LENGTH,), tmp_path / "m.onnx", vocab_size=VOCAB,
                         exporter="torchscript")
    assert result.input_dtype == "int64" and result.dynamic_axes == ("batch", "sequence")
    session = ort_session(result.path, threads=1)
    ids = ids_of([10, 1, 4, 0, 2, 1])
    for x in (ids, ids[1:2], ids[:1], ids[1:, :5]):  # a length-1 row alone; a shorter sequence
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        got = session.run(None, {"input": x})[0]
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_a_bidirectional_text_model_beside_table_features_exports_equal_to_eager(tmp_path):
    torch.manual_seed(0)
    features = 3
    model = create_model("gru", input_shape=(MAX_LENGTH + features,), num_outputs=2,
                         vocab_size=VOCAB, embedding_dim=6, hidden=5, depth=2,
                         bidirectional=True, tabular_features=features).eval()
    result = export_onnx(model, (MAX_LENGTH + features,), tmp_path / "m.onnx",
                         vocab_size=VOCAB, tabular_features=features, exporter="torchscript")
    session = ort_session(result.path, threads=1)
    table = np.random.default_rng(1).normal(size=(5, features))
    x = np.concatenate([ids_of([10, 1, 3, 0, 1]), table], axis=1).astype(np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, atol=1e-5)


SPEC = """\
name: reviews-bidir
data: {source: reviews.csv, target: label, text: review,
       tokenizer: {min_frequency: 1, max_length: 10}}
model: {family: lstm, hidden: 8, embedding_dim: 8, depth: 2, bidirectional: true}
train: {epochs: 1, batch_size: 32, threads: 1, probes: false}
export: {}
"""


def test_honed_run_exports_a_bidirectional_text_model_that_predicts_as_eager(tmp_path,
                                                                              capsys):
    from honed.data import apply_preprocess
    from honed.models import load_model

    write_reviews(tmp_path, 200)
    (tmp_path / "spec.yaml").write_text(SPEC)
    run = tmp_path / "run"
    assert main(["run", str(tmp_path / "spec.yaml"), "--out", str(run), "--quiet"]) == 0
    card = json.loads((run / "bundle" / "card.json").read_text())
    assert card["input"]["dtype"] == "int64"
    texts = ["great", "awful dull film", "the plot was long and the acting quite weak " * 3,
             "zzz"]
    (tmp_path / "texts.csv").write_text("review\n" + "\n".join(f'"{t}"' for t in texts) + "\n")
    capsys.readouterr()
    assert main(["predict", str(run / "bundle"), str(tmp_path / "texts.csv"), "--out",
                 str(tmp_path / "p.json"), "--quiet"]) == 0
    rows = json.loads((tmp_path / "p.json").read_text())
    ids = apply_preprocess(json.loads((run / "model" / "preprocess.json").read_text()), texts)
    lengths = (ids > 0).sum(1).tolist()
    assert lengths[0] == lengths[3] == 1 and lengths[2] == 10  # one token; cut to max_length
    with torch.no_grad():
        logits = load_model(run).eval()(torch.from_numpy(ids)).numpy()
    probabilities = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    assert [row["truncated"] for row in rows] == [False, False, True, False]
    got = np.array([[row["p_neg"], row["p_pos"]] for row in rows])
    np.testing.assert_allclose(got, probabilities, atol=1e-5)
