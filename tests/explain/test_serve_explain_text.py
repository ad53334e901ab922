"""``honed serve --explain`` on a text bundle: each token deleted in turn through ONNX Runtime,
the scores of ``honed explain``'s feature ablation, bad records a one-line 422, never a 5xx,
and never torch in the server (its process maps no libtorch)."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.serve.conftest import Server, post_malformed
from tests.text_corpus import POSITIVE

#: one sentiment word each among neutral ones (tests.text_corpus's vocabulary)
TEXTS = {"wonderful": "the plot was long and the music really wonderful",
         "dull": "the story was quite dull and the ending long"}


@pytest.fixture(scope="module")
def bundle(runs):
    from honed.export.bundle import export_bundle

    return export_bundle(runs["text"], exporter="torchscript")


@pytest.fixture(scope="module")
def server(bundle):
    server = Server(bundle, "--explain", "--max-text-chars", "2000", "--max-body", "20000")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield server, client
    server.stop()
    server.stderr.close()


def explain(client, text: str) -> dict:
    answer = client.post("/v1/explain", json={"records": [{"review": text}]})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_the_word_that_carries_the_label_scores_highest(server):
    _, client = server
    for word, text in TEXTS.items():
        body = explain(client, text)
        assert body["tokens"] == text.split() and len(body["scores"]) == len(body["tokens"])
        assert body["attributions"][0]["name"] == word, body
        assert body["scores"][body["attributions"][0]["position"]] == max(body["scores"])
        assert body["method"] == "occlusion" and "deleted" in body["baseline"]
        assert body["explained"] == f"class {body['prediction']['class']}"
        assert body["prediction"]["class"] == ("pos" if word in POSITIVE else "neg")
        assert body["prediction"]["truncated"] is False
        assert {item["kind"] for item in body["attributions"]} == {"token"}


def test_the_scores_are_honed_explains_feature_ablation(runs, server):
    from honed.data.text import text_ids
    from honed.explain.tokens import attribute_tokens
    from honed.train.run_eval import load_run

    _, client = server
    _, data, model = load_run(runs["text"])
    texts = list(TEXTS.values())
    ids = text_ids(data.preprocess, texts).astype(np.float32)
    found = attribute_tokens(model, ids, method="feature_ablation", task=data.task)
    for row, text in enumerate(texts):
        served = explain(client, text)["scores"]
        expected = found.values[row][ids[row] != 0]
        assert served == pytest.approx(expected.tolist(), abs=1e-4)


def test_a_long_text_is_cut_to_max_length_tokens(server):
    _, client = server
    most = client.get("/v1/metadata").json()["input"]["max_length"]
    body = explain(client, "the film was great " * (most // 4 + 5))
    assert body["prediction"]["truncated"] is True
    assert len(body["tokens"]) == len(body["attributions"]) == most


@pytest.mark.parametrize(("body", "loc", "message"), [
    ({"records": [{"review": "good"}, {"review": "bad"}]}, ["body", "records"],
     "exactly one record; got 2"),
    ({"records": []}, ["body", "records"], "exactly one record; got 0"),
    ({"inputs": [[1, 2, 3]]}, ["body", "inputs"], "this model reads text"),
    ({"records": [{"review": "  "}]}, ["body", "records", 0, "review"], "is empty"),
    ({"records": [{"review": 5}]}, ["body", "records", 0, "review"], "got a number"),
    ({"records": [{"text": "hello"}]}, ["body", "records", 0, "text"], "unknown column"),
    ({"records": [{"review": "x" * 2001}]}, ["body", "records", 0, "review"],
     "2001 characters long; at most 2000"),
])
def test_a_bad_record_is_one_line_422(server, body, loc, message):
    _, client = server
    answer = client.post("/v1/explain", json=body)
    assert answer.status_code == 422, answer.text
    (detail,) = answer.json()["detail"]
    assert detail["loc"] == loc and message in detail["msg"] and "\n" not in detail["msg"]


def test_malformed_payloads_never_get_a_5xx_and_torch_never_loads(server):
    process, client = server
    post_malformed(client, "/v1/explain", 120, seed=2, max_body_bytes=20000,
                   max_text_chars=2000)
    explain(client, TEXTS["dull"])
    with open(f"/proc/{process.process.pid}/maps") as handle:  # Linux: the serving process
        assert "libtorch" not in handle.read()  # explained texts and never loaded PyTorch


texts = st.text(max_size=40) | st.sampled_from(["", " ", "\x00", "[SEP]", "[PAD]", "😀", "##"])


@settings(max_examples=60, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=texts)
def test_any_string_is_explained_or_refused_never_5xx(server, text):
    _, client = server
    answer = client.post("/v1/explain", json={"records": [{"review": text}]})
    assert answer.status_code in (200, 422), (text, answer.text)
    if answer.status_code == 200:
        body = answer.json()
        assert len(body["tokens"]) == len(body["scores"]) == len(body["attributions"])
        assert all(np.isfinite(body["scores"]))

