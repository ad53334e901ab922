"""``honed serve --explain`` on text beside table columns: the text's deletions and each column
at its baseline in one ONNX Runtime call, the scores of ``honed explain``'s feature ablation,
tokens and columns ranked together; a bad record is a one-line 422."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.serve.conftest import Server, post_malformed

RECORD = {"review": "the plot was long and the music really wonderful", "stars": 4.0,
          "genre": "comedy"}


@pytest.fixture(scope="module")
def server(mixed_run):
    server = Server(mixed_run / "bundle", "--explain", "--max-text-chars", "2000",
                    "--max-body", "20000")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield server, client
    server.stop()
    server.stderr.close()


def test_tokens_and_columns_are_scored_as_honed_explain_scores_them(mixed_run, server):
    from honed.data.mixed import with_tabular
    from honed.data.text import text_ids
    from honed.explain.kinds import input_kind
    from honed.explain.mixed import attribute_mixed, column_scores
    from honed.train.run_eval import load_run

    _, client = server
    answer = client.post("/v1/explain", json={"records": [RECORD]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["tokens"] == RECORD["review"].split()
    assert {item["kind"] for item in body["attributions"]} == {"token", "feature"}
    assert len(body["attributions"]) == len(body["tokens"]) + 2
    values = [abs(item["value"]) for item in body["attributions"]]
    assert values == sorted(values, reverse=True) and "deleted" in body["baseline"]
    _, data, model = load_run(mixed_run)
    x = with_tabular(data.preprocess, text_ids(data.preprocess, [RECORD["review"]]), [RECORD])
    kind = input_kind("mixed")
    groups = kind.groups(data)
    found = attribute_mixed(model, x, groups=groups, task=data.task,
                            offset=int(data.preprocess["tabular"]["offset"]))
    offset = int(data.preprocess["tabular"]["offset"])
    tokens = found.values[0, :offset][x[0, :offset] != 0]
    assert body["scores"] == pytest.approx(tokens.tolist(), abs=1e-4)
    columns = {item["name"]: item["value"] for item in body["attributions"]
               if item["kind"] == "feature"}
    expected = column_scores(found.values, groups)[0]
    assert [columns[g.name] for g in groups] == pytest.approx(expected.tolist(), abs=1e-4)


@pytest.mark.parametrize(("record", "message"), [
    ({"review": "great film", "genre": "drama"}, "stars"),
    ({"review": "great film", "stars": "many", "genre": "drama"}, "stars"),
])
def test_a_bad_record_is_one_line_422(server, record, message):
    _, client = server
    answer = client.post("/v1/explain", json={"records": [record]})
    assert answer.status_code == 422, answer.text
    (detail,) = answer.json()["detail"]
    assert message in str(detail) and "\n" not in detail["msg"], detail


def test_malformed_payloads_never_get_a_5xx_and_torch_never_loads(server):
    process, client = server
    post_malformed(client, "/v1/explain", 60, seed=3, max_body_bytes=20000,
                   max_text_chars=2000)
    assert np.isfinite(client.post("/v1/explain", json={"records": [RECORD]}).json()[
        "scores"]).all()
    with open(f"/proc/{process.process.pid}/maps") as handle:  # Linux: the serving process
        assert "libtorch" not in handle.read()
