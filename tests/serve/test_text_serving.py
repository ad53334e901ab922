"""Text bundles: ``honed predict`` on a CSV or a folder of .txt files and ``honed serve`` on raw
strings, both without torch; bad input is one line (exit 2, nothing written) or a 422."""

from __future__ import annotations

import json

import httpx
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honed.errors import DataError
from honed.serve.predict import predict_file
from honed.serve.runtime import load_runtime
from tests.serve.conftest import honed, post_malformed, predict_without_torch
from tests.text_corpus import train_text_bundle

TEXTS = ["great superb film", "awful dull film", "the plot was long " * 10]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_text_bundle(tmp_path_factory.mktemp("text"))


@pytest.fixture(scope="module")
def server(run, start_server):
    server = start_server(run / "bundle", "--max-text-chars", "500", "--max-body", "20000")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield server, client


def test_predict_a_csv_and_a_folder_of_txt_files_like_the_runtime(run, tmp_path):
    expected = load_runtime(run, probe=False).predict(TEXTS).records()
    pd.DataFrame({"id": [7, 8, 9], "review": TEXTS}).to_csv(tmp_path / "in.csv", index=False)
    # the command line, in a process that must never import torch
    done = predict_without_torch(run, tmp_path / "in.csv", tmp_path / "p.csv")
    assert done.returncode == 0, done.stderr
    assert "1 of 3 texts were longer than the model's max_length tokens" in done.stderr
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table.columns) == ["row", "class", "p_neg", "p_pos", "truncated"]
    assert table["class"].tolist() == [r["class"] for r in expected]
    assert table["truncated"].tolist() == [False, False, True]
    for i, name in enumerate(["a.txt", "sub/b.txt", "sub/deeper/c.txt"]):
        (tmp_path / "texts" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "texts" / name).write_text(TEXTS[i], encoding="utf-8")
    (tmp_path / "texts" / ".hidden.txt").write_text("skipped")
    rows = predict_file(run / "bundle", tmp_path / "texts", tmp_path / "p.json")
    assert [r["file"] for r in rows] == ["a.txt", "sub/b.txt", "sub/deeper/c.txt"]
    assert [r["class"] for r in rows] == [r["class"] for r in expected]
    assert json.loads((tmp_path / "p.json").read_text()) == rows
    one = predict_file(run / "bundle", tmp_path / "texts" / "sub" / "b.txt", tmp_path / "1.json")
    assert [(r["file"], r["class"]) for r in one] == [("b.txt", expected[1]["class"])]


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: (d / "x.txt").write_bytes(b"caf\xe9 au lait"), "x.txt is not UTF-8 text (byte 3"),
    (lambda d: (d / "x.txt").write_text("  \n"), "x.txt is empty"),
    (lambda d: (d / "x.csv").write_text("id,text\n1,hello\n"), "missing text column(s) 'review'"),
    (lambda d: (d / "x.csv").write_text("review\n1\n2\n"), "holds int64 values, not text"),
    (lambda d: (d / "x.csv").write_text('review,id\n"",1\nfine,2\n'), "row 1 has no text"),
    (lambda d: (d / "x.npz").write_bytes(b""), "this model reads text; give a .csv"),
])
def test_bad_text_input_is_one_line_and_writes_nothing(run, tmp_path, make, message):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text("a fine film")
    make(folder)
    target = next((p for p in folder.iterdir() if p.suffix in (".csv", ".npz")), folder)
    with pytest.raises(DataError) as error:
        predict_file(run, target, tmp_path / "p.csv")
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "p.csv").exists()


def test_the_command_line_exits_2_on_bad_text(run, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.txt").write_bytes(b"caf\xe9")
    done = honed("predict", run, tmp_path / "in", "--out", tmp_path / "p.csv")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "x.txt is not UTF-8 text (byte 3: b'\\xe9')" in done.stderr
    assert not (tmp_path / "p.csv").exists()


def test_serve_answers_raw_strings(run, server):
    server, client = server
    answer = client.post("/v1/predict", json={"records": [{"review": t} for t in TEXTS]})
    assert answer.status_code == 200, answer.text
    expected = load_runtime(run, probe=False).predict(TEXTS).records()
    got = answer.json()["predictions"]
    assert [p["class"] for p in got] == [p["class"] for p in expected]
    assert [p["truncated"] for p in got] == [False, False, True]
    assert got[0]["probabilities"] == pytest.approx(expected[0]["probabilities"])
    meta = client.get("/v1/metadata").json()["input"]
    assert meta == {"kind": "text", "shape": [1], "columns": [{"name": "review",
                                                                "type": "text"}],
                    "max_length": 10}
    example = client.get("/openapi.json").json()["paths"]["/v1/predict"]["post"][
        "requestBody"]["content"]["application/json"]["example"]
    assert client.post("/v1/predict", json=example).status_code == 200
    assert client.post("/v1/predict", json={"records": [{"review": "ok", "label": "pos"}]}
                       ).status_code == 200  # the target column is allowed, as for tables
    maps = f"/proc/{server.process.pid}/maps"
    with open(maps) as handle:  # Linux: the serving process never loaded PyTorch
        assert "libtorch" not in handle.read()


@pytest.mark.parametrize(("body", "loc", "message"), [
    ({"records": [{"review": ""}]}, ["body", "records", 0, "review"], "is empty"),
    ({"records": [{"review": "ok"}, {"review": "   "}]}, ["body", "records", 1, "review"],
     "is empty"),
    ({"records": [{"review": 5}]}, ["body", "records", 0, "review"], "got a number"),
    ({"records": [{"review": None}]}, ["body", "records", 0, "review"], "got null"),
    ({"records": [{"text": "hello"}]}, ["body", "records", 0, "text"], "unknown column"),
    ({"records": [{}]}, ["body", "records", 0, "review"], "missing text column 'review'"),
    ({"records": [{"review": "x" * 501}]}, ["body", "records", 0, "review"],
     "501 characters long; at most 500"),
    ({"inputs": [[1, 2, 3]]}, ["body", "inputs"], "this model reads text"),
    ({"records": []}, ["body", "records"], "at least one"),
])
def test_bad_text_requests_get_one_clear_422(server, body, loc, message):
    _, client = server
    answer = client.post("/v1/predict", json=body)
    assert answer.status_code == 422, answer.text
    (detail,) = answer.json()["detail"]
    assert detail["loc"] == loc and message in detail["msg"], detail


def test_malformed_text_payloads_never_get_a_5xx(server):
    _, client = server
    post_malformed(client, "/v1/predict", 120, seed=1, max_body_bytes=20000, max_text_chars=500)


texts = st.text(max_size=40) | st.sampled_from(["", " ", "x" * 600, "\x00", "[SEP]", "😀"])
values = st.none() | st.booleans() | st.integers() | st.floats() | texts | st.lists(texts,
                                                                                 max_size=2)
records = st.lists(st.dictionaries(st.sampled_from(["review", "label", "x"]), values,
                                   max_size=3), max_size=3)


@settings(max_examples=100, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(body=st.fixed_dictionaries({"records": records}) | st.fixed_dictionaries(
    {}, optional={"records": values, "inputs": values}))
def test_generated_text_requests_never_get_a_5xx(server, body):
    _, client = server
    answer = client.post("/v1/predict", content=json.dumps(body).encode(),
                         headers={"content-type": "application/json"})
    assert answer.status_code < 500, (body, answer.text)
    if answer.status_code == 200:
        assert all(p["class"] in ("neg", "pos") for p in answer.json()["predictions"])
