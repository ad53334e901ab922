"""A model of text beside numeric and categorical columns, exported: ONNX Runtime agrees with
eager PyTorch, ``honed predict`` reads a CSV of the columns, ``honed serve`` answers records of
them, and a bad column is one line or a 422."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pandas as pd
import pytest
import torch

from honed.data import apply_preprocess
from honed.errors import DataError
from honed.export.runtime import ort_session
from honed.models import load_model
from honed.serve.fuzz import malformed_payloads
from honed.serve.predict import predict_file
from honed.serve.runtime import load_runtime
from tests.serve.conftest import predict_without_torch
from tests.text_corpus import mixed_reviews, train_mixed_run

RECORDS = [{"review": "great superb film", "stars": 5, "genre": "drama"},
           {"review": "great superb film", "stars": 1, "genre": "drama"},
           {"review": "awful dull film", "stars": 4.0, "genre": "horror"}]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_mixed_run(tmp_path_factory.mktemp("mixed"), epochs=12, export=True)


@pytest.fixture(scope="module")
def server(run, start_server):
    server = start_server(run / "bundle", "--max-text-chars", "500", "--max-body", "20000")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield server, client


def test_onnx_runtime_agrees_with_eager_pytorch_on_ids_and_features(run):
    card = json.loads((run / "bundle" / "card.json").read_text())
    preprocess = json.loads((run / "bundle" / "preprocess.json").read_text())
    assert card["input"]["shape"] == [12 + 4] and card["input"]["tokenizer"] == "tokenizer.json"
    session = ort_session(run / "bundle" / "model.onnx", threads=1)
    assert [(i.name, i.type) for i in session.get_inputs()] == [("input", "tensor(float)")]
    x = apply_preprocess(preprocess | {"tokenizer": (run / "bundle" / "tokenizer.json")
                                       .read_text()},
                         mixed_reviews(40, seed=5).drop(columns="label"))
    with torch.no_grad():
        eager = load_model(run).eval()(torch.as_tensor(x)).numpy()
    got = session.run(None, {"input": x})[0]
    assert np.allclose(got, eager, atol=1e-5)
    verification = card["verification"]  # on the run's own test rows, [ids | features]
    assert verification["passed"] and verification["samples"].startswith("test split")


def test_predict_a_csv_of_text_and_columns_without_torch(run, tmp_path):
    expected = load_runtime(run / "bundle", probe=False).predict(RECORDS).records()
    # the stars carry the label beside the text: same text, other stars, other class
    assert [r["class"] for r in expected] == ["pos", "neg", "neg"]
    pd.DataFrame([{"id": i, **r} for i, r in enumerate(RECORDS)]).to_csv(tmp_path / "in.csv",
                                                                         index=False)
    done = predict_without_torch(run, tmp_path / "in.csv", tmp_path / "p.csv")
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "p.csv")
    assert table["class"].tolist() == [r["class"] for r in expected]
    assert np.allclose(table["p_pos"], [r["probabilities"]["pos"] for r in expected])
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("a fine film")
    with pytest.raises(DataError, match="reads text beside the columns stars, genre; give a "
                                        r"\.csv"):
        predict_file(run / "bundle", tmp_path / "texts", tmp_path / "q.csv")


@pytest.mark.parametrize(("make", "message"), [
    (lambda frame: frame.drop(columns="stars"), "missing column(s) 'stars'; the model reads "
                                                "review, stars, genre"),
    (lambda frame: frame.assign(stars=["many", 1, 2]), "input column 'stars' row 1 holds "
                                                       "'many', not a number"),
    (lambda frame: frame.drop(columns="review"), "missing text column(s) 'review'"),
])
def test_bad_csv_columns_are_one_line_and_write_nothing(run, tmp_path, make, message):
    make(pd.DataFrame(RECORDS)).to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(DataError) as error:
        predict_file(run / "bundle", tmp_path / "in.csv", tmp_path / "p.csv")
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "p.csv").exists()


def test_serve_answers_records_of_text_and_columns(run, server):
    _, client = server
    answer = client.post("/v1/predict", json={"records": RECORDS})
    assert answer.status_code == 200, answer.text
    expected = load_runtime(run / "bundle", probe=False).predict(RECORDS).records()
    got = answer.json()["predictions"]
    assert [p["class"] for p in got] == [p["class"] for p in expected]
    assert got[0]["probabilities"] == pytest.approx(expected[0]["probabilities"])
    meta = client.get("/v1/metadata").json()["input"]
    assert meta["shape"] == [3]  # what a record holds, not the model's [ids | features]
    assert meta["columns"] == [{"name": "review", "type": "text"},
                               {"name": "stars", "type": "numeric"},
                               {"name": "genre", "type": "categorical",
                                "categories": ["comedy", "drama", "horror"]}]
    example = client.get("/openapi.json").json()["paths"]["/v1/predict"]["post"][
        "requestBody"]["content"]["application/json"]["example"]
    assert set(example["records"][0]) == {"review", "stars", "genre"}
    assert client.post("/v1/predict", json=example).status_code == 200


@pytest.mark.parametrize(("record", "loc", "message"), [
    ({"review": "great film", "genre": "drama"}, "stars", "missing column 'stars'"),
    ({"review": "great film", "stars": "many", "genre": "drama"}, "stars", "number"),
    ({"review": "great film", "stars": None, "genre": "drama", "x": 1}, "x", "unknown column"),
    ({"stars": 3, "genre": "drama"}, "review", "missing text column 'review'"),
    ({"review": 5, "stars": 3, "genre": "drama"}, "review", "must be a string"),
    ({"review": "great film", "stars": True, "genre": "drama"}, "stars", "number"),
])
def test_bad_mixed_records_get_one_clear_422(server, record, loc, message):
    _, client = server
    answer = client.post("/v1/predict", json={"records": [RECORDS[0], record]})
    assert answer.status_code == 422, answer.text
    (detail,) = answer.json()["detail"]
    assert detail["loc"] == ["body", "records", 1, loc] and message in detail["msg"], detail


def test_malformed_mixed_payloads_never_get_a_5xx(server):
    _, client = server
    meta = client.get("/v1/metadata").json()
    for body, content_type in malformed_payloads(meta, 60, seed=2, max_body_bytes=20000,
                                                 max_text_chars=500):
        answer = client.post("/v1/predict", content=body,
                             headers={"content-type": content_type})
        assert 400 <= answer.status_code < 500, (body[:200], answer.text)


def test_serve_explain_takes_text_beside_columns(run):
    from honed.serve.app import ServeSettings, create_app

    runtime = load_runtime(run / "bundle", probe=False)
    # no refusal at startup; tests/explain/test_serve_explain_mixed.py: what it answers
    assert create_app(runtime, ServeSettings(explain=True)) is not None
