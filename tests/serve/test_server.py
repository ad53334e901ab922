"""``honed serve`` over real HTTP on loopback: answers, limits, safety, shutdown."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest

from honed.serve.runtime import load_runtime
from tests.helpers import wait_until, wait_until_async
from tests.serve.conftest import honed
from tests.serve.test_runtime import IRIS_ROW


@pytest.fixture(scope="module")
def iris(bundles, start_server):
    return start_server(bundles["iris"], "--max-body", "20000")


def post(server, body, **kwargs) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/predict", json=body, timeout=30, **kwargs)


def test_predictions_equal_the_runtime_in_process(bundles, iris):
    rows = [IRIS_ROW, {**IRIS_ROW, "petal length (cm)": 6.1, "petal width (cm)": None}]
    answer = post(iris, {"records": rows})
    assert answer.status_code == 200, answer.text
    expected = load_runtime(bundles["iris"], probe=False).predict(rows).records()
    got = answer.json()["predictions"]
    assert [p["class"] for p in got] == [p["class"] for p in expected]
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(list(a["probabilities"].values()),
                                   list(b["probabilities"].values()), rtol=1e-6)
    as_arrays = post(iris, {"inputs": [list(IRIS_ROW.values())]}).json()["predictions"]
    assert as_arrays[0] == got[0]


def test_metadata_health_docs_and_metrics(iris):
    assert post(iris, {"records": [IRIS_ROW]}).status_code == 200  # one to count
    meta = httpx.get(f"{iris.url}/v1/metadata").json()
    assert meta["task"] == "classification" and meta["class_names"][0] == "setosa"
    assert [c["name"] for c in meta["input"]["columns"]][0] == "sepal length (cm)"
    assert "accuracy" in meta["metrics"]["test"]
    health = httpx.get(f"{iris.url}/health")
    assert health.json()["status"] == "ok" and "server" not in health.headers
    spec = httpx.get(f"{iris.url}/openapi.json").json()["paths"]["/v1/predict"]["post"]
    schema = spec["requestBody"]["content"]["application/json"]["schema"]
    assert {"records", "inputs"} <= set(schema["properties"])
    assert {"200", "401", "413", "422", "503", "504"} <= set(spec["responses"])
    assert httpx.get(f"{iris.url}/v1/predict").status_code == 405
    assert httpx.get(f"{iris.url}/docs").status_code == 200
    text = httpx.get(f"{iris.url}/metrics").text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)  # every sample line parses
    assert samples['honed_requests_total{method="POST",path="/v1/predict",status="200"}'] >= 1
    assert 'honed_request_seconds_bucket{path="/v1/predict",le="+Inf"}' in samples
    assert "honed_batch_rows_count" in samples and 'honed_errors_total{class="5xx"}' in samples


def _example(server) -> dict:
    """The example request that /openapi.json documents for POST /v1/predict."""
    spec = httpx.get(f"{server.url}/openapi.json").json()["paths"]["/v1/predict"]["post"]
    return spec["requestBody"]["content"]["application/json"]["example"]


def test_docs_work_offline_with_the_served_models_example(iris):
    page = httpx.get(f"{iris.url}/docs")
    assert page.status_code == 200 and "SwaggerUIBundle" in page.text
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", page.text)
    assert urls and all(url.startswith("/") for url in urls), urls  # nothing from a CDN
    assert "//" not in "".join(urls)
    for url in urls:
        if url.startswith("/docs/assets/"):
            asset = httpx.get(f"{iris.url}{url}")
            assert asset.status_code == 200 and len(asset.content) > 1000, url
    assert httpx.get(f"{iris.url}/docs/assets/..%2Fcore.py").status_code == 404
    assert httpx.get(f"{iris.url}/redoc").status_code == 404
    example = _example(iris)
    assert list(example["records"][0]) == list(IRIS_ROW)  # the model's own columns
    assert post(iris, example).status_code == 200


def test_concurrent_requests_are_batched(bundles, start_server):
    # a window that never ends by itself: the batch goes when 24 rows are queued, so the 24
    # requests are one runtime call whatever the machine's load
    server = start_server(bundles["iris"], "--max-batch", "24", "--batch-window-ms", "600000",
                          "--timeout", "600")

    async def many():
        async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
            return await asyncio.gather(*(client.post("/v1/predict", json={"records": [
                {**IRIS_ROW, "sepal length (cm)": 4 + i / 20}]}) for i in range(24)))

    answers = asyncio.run(many())
    assert [a.status_code for a in answers] == [200] * 24
    assert _metric(server, "honed_batch_requests_count") == 1
    assert _metric(server, 'honed_batch_requests_bucket{le="32.0"}') == 1
    assert _metric(server, 'honed_batch_requests_bucket{le="16.0"}') == 0


def test_by_default_no_gathering_window(bundles):
    # with a window, once every connection waits on it the event loop idles: at 64
    # connections a 2 ms window halved the requests/s (bench/serve_wrk.py)
    from honed.serve.app import create_app

    assert create_app(load_runtime(bundles["iris"], probe=False)).batcher.window == 0
    assert "default 0" in honed("serve", "--help").stdout


def _metric(server, name: str) -> float:
    """One sample of the server's /metrics."""
    text = httpx.get(f"{server.url}/metrics", timeout=30).text
    return float(next(line.rsplit(" ", 1)[1] for line in text.splitlines()
                      if line.rsplit(" ", 1)[0] == name))


@pytest.mark.parametrize("body, loc", [
    ({"records": [{**IRIS_ROW, "sepal width (cm)": "abc"}]}, ["body", "records", 0,
                                                             "sepal width (cm)"]),
    ({"records": [IRIS_ROW, {k: v for k, v in IRIS_ROW.items() if "petal" not in k}]},
     ["body", "records", 1, "petal length (cm)"]),
    ({"records": [{**IRIS_ROW, "colour": 1}]}, ["body", "records", 0, "colour"]),
    ({"inputs": [[1, 2, 3, 4], [1, 2, 3]]}, ["body", "inputs", 1]),
    ({"inputs": [[1, 2, 3, 1e999]]}, ["body", "inputs", 0]),
    ({"inputs": [[1, 2, 3, 4]], "extra": 1}, ["body", "extra"]),
    ({"records": []}, ["body", "records"]),
])
def test_bad_fields_get_422_naming_the_field(iris, body, loc):
    answer = httpx.post(f"{iris.url}/v1/predict", content=json.dumps(body),
                        headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == loc


def test_body_limit_with_and_without_a_length_and_no_tracebacks(iris):
    big = {"inputs": [[1.0, 2.0, 3.0, 4.0]] * 2000}
    assert post(iris, big).status_code == 413

    def chunks():
        data = json.dumps(big).encode()
        for i in range(0, len(data), 1000):
            yield data[i:i + 1000]

    answer = httpx.post(f"{iris.url}/v1/predict", content=chunks(),
                        headers={"content-type": "application/json"})
    assert answer.status_code == 413 and "larger than 20000" in answer.json()["detail"]
    for raw in (b"{", b"[" * 30000, b'{"inputs": "x"}', b"\xff\xfe"):
        answer = httpx.post(f"{iris.url}/v1/predict", content=raw,
                            headers={"content-type": "application/json"})
        assert 400 <= answer.status_code < 500 and "Traceback" not in answer.text
    assert httpx.get(f"{iris.url}/nothing").status_code == 404
    assert httpx.get(f"{iris.url}/health").status_code == 200


def test_token_is_checked_on_every_request(bundles, start_server):
    server = start_server(bundles["iris"], env={"HONED_SERVE_TOKEN": "s3cret"})
    assert httpx.get(f"{server.url}/health").status_code == 401
    wrong = {"authorization": "Bearer nope"}
    assert post(server, {"records": [IRIS_ROW]}, headers=wrong).status_code == 401
    right = {"authorization": "Bearer s3cret"}
    assert post(server, {"records": [IRIS_ROW]}, headers=right).status_code == 200
    assert httpx.get(f"{server.url}/metrics", headers=right).status_code == 200
    refused = honed("serve", bundles["iris"], "--host", "0.0.0.0", "--port", "0")
    assert refused.returncode == 2 and "--token" in refused.stderr
    taken = honed("serve", bundles["iris"], "--port", server.port)
    assert taken.returncode == 2 and "cannot listen on" in taken.stderr
    assert len(taken.stderr.strip().splitlines()) == 1


def test_image_arrays(bundles, start_server):
    server = start_server(bundles["digits"])
    x = np.random.default_rng(1).integers(0, 17, size=(3, 1, 8, 8))
    answer = post(server, {"inputs": x.tolist()})
    assert answer.status_code == 200
    expected = load_runtime(bundles["digits"], probe=False).predict(x).labels
    assert [p["class"] for p in answer.json()["predictions"]] == expected
    assert post(server, {"inputs": x[0].tolist()}).status_code == 200  # one sample, no batch axis
    example = _example(server)
    assert np.asarray(example["inputs"]).shape == (1, 1, 8, 8)  # the model's own shape
    assert post(server, example).status_code == 200
    wrong = post(server, {"inputs": np.zeros((2, 1, 8, 7)).tolist()})
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["body", "inputs", 0]
    assert post(server, {"records": [{"a": 1}]}).status_code == 422
    huge = post(server, {"inputs": [[[1e300] * 8] * 8]})  # finite in JSON, not in float32
    assert huge.status_code == 422 and "out of range" in huge.json()["detail"][0]["msg"]
    maps = Path(f"/proc/{server.process.pid}/maps")
    if maps.exists():  # Linux: the serving process never loaded PyTorch
        assert "libtorch" not in maps.read_text()


def test_full_queue_is_503_and_slow_prediction_is_504(bundles, start_server):
    # a window that never ends by itself keeps the first request queued past its timeout
    server = start_server(bundles["iris"], "--max-queue", "1", "--batch-window-ms", "600000",
                          "--timeout", "0.5", "--body-timeout", "0.3")

    async def burst():
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            first = asyncio.ensure_future(client.post("/v1/predict",
                                                      json={"records": [IRIS_ROW]}))
            await wait_until_async(lambda: _metric(server, "honed_queue_rows"),
                                   until=lambda rows: rows >= 1,
                                   what="the first request to be queued",
                                   processes=[server.process], output=lambda _: server.log())
            rest = [await client.post("/v1/predict", json={"records": [IRIS_ROW]})
                    for _ in range(3)]
            return await first, rest

    first, rest = asyncio.run(burst())
    assert first.status_code == 504 and "longer than 0.5 s" in first.json()["detail"]
    assert "retry-after" not in first.headers
    for answer in rest:  # the queue holds its one row until the window closes
        assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert _metric(server, 'honed_rejected_total{reason="queue_full"}') == 3
    assert _metric(server, 'honed_rejected_total{reason="timeout"}') == 1
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as slow:
        slow.sendall(b"POST /v1/predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json"
                     b"\r\ncontent-length: 100\r\n\r\n{\"records\"")  # and then nothing
        assert slow.recv(4096).startswith(b"HTTP/1.1 408 ")


def test_sigterm_finishes_the_request_in_flight(bundles, start_server):
    # the request waits in a window that only the shutdown's drain ends
    server = start_server(bundles["iris"], "--batch-window-ms", "600000", "--timeout", "600")
    result = {}

    def call():
        result["answer"] = post(server, {"records": [IRIS_ROW]})

    thread = threading.Thread(target=call)
    thread.start()
    wait_until(lambda: _metric(server, "honed_queue_rows"), until=lambda rows: rows == 1,
               what="the request to be queued", processes=[server.process],
               output=lambda _: server.log())
    server.process.send_signal(signal.SIGTERM)
    thread.join(60)
    assert not thread.is_alive() and result["answer"].status_code == 200
    assert server.stop() == 0


@pytest.mark.parametrize("name", ["iris", "digits"])
def test_malformed_payloads_only_get_4xx(bundles, start_server, name):
    from honed.serve.fuzz import malformed_payloads

    server = start_server(bundles[name], "--max-body", "20000")
    meta = httpx.get(f"{server.url}/v1/metadata").json()
    codes = {}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for body, kind in malformed_payloads(meta, 600, seed=1, max_body_bytes=20000):
            code = client.post("/v1/predict", content=body,
                               headers={"content-type": kind}).status_code
            codes[code] = codes.get(code, 0) + 1
    assert all(400 <= code < 500 for code in codes), codes
    assert server.process.poll() is None
    assert 'honed_errors_total{class="5xx"} 0' in httpx.get(f"{server.url}/metrics").text


def test_the_fastapi_route_answers_like_the_server(bundles, iris):
    from honed.serve.app import create_app

    inner = create_app(load_runtime(bundles["iris"], probe=False)).fastapi
    bodies = ({"records": [IRIS_ROW]}, {"inputs": [[1, 2, 3]]}, {"records": []})

    async def ask():  # FastAPI alone, without the fast path in front
        async with inner.router.lifespan_context(inner):
            transport = httpx.ASGITransport(app=inner)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
                return [await client.post("/v1/predict", json=body) for body in bodies]

    for body, answer in zip(bodies, asyncio.run(ask()), strict=True):
        outer = post(iris, body)
        assert answer.status_code == outer.status_code and answer.json() == outer.json()


def test_regression_with_a_categorical_column(bundles, start_server, tmp_path):
    from honed.serve.predict import predict_file

    server = start_server(bundles["prices"])
    meta = httpx.get(f"{server.url}/v1/metadata").json()
    colour = next(c for c in meta["input"]["columns"] if c["name"] == "colour")
    assert meta["task"] == "regression" and sorted(colour["categories"]) == ["blue", "green",
                                                                            "red"]
    example = _example(server)
    assert list(example["records"][0]) == ["size", "colour"]
    assert example["records"][0]["colour"] in colour["categories"]
    assert post(server, example).status_code == 200
    rows = [{"size": 2.5, "colour": "red"}, {"size": 7, "colour": "violet"},  # unseen: zeros
            {"size": None, "colour": None, "price": 1.0}]  # imputed; the target is ignored
    answer = post(server, {"records": rows})
    assert answer.status_code == 200, answer.text
    values = [p["value"] for p in answer.json()["predictions"]]
    expected = load_runtime(bundles["prices"], probe=False).predict(
        [{k: v for k, v in r.items() if k != "price"} for r in rows]).values[:, 0]
    np.testing.assert_allclose(values, expected, rtol=1e-6)
    bad = post(server, {"records": [{"size": "big", "colour": "red"}]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "records", 0,
                                                                         "size"]
    (tmp_path / "in.csv").write_text("size,colour\n2.5,red\n7,violet\n")
    written = predict_file(bundles["prices"], tmp_path / "in.csv", tmp_path / "out.json")
    np.testing.assert_allclose([r["value"] for r in written], values[:2], rtol=1e-5)


def test_without_swagger_files_docs_is_a_plain_page_with_the_example(bundles):
    from honed.serve.docs import _plain_page, request_example

    runtime = load_runtime(bundles["prices"], probe=False)
    example = request_example(runtime.metadata(), runtime.preprocess)
    page = _plain_page("honed: prices", example, [("POST", "/v1/predict", "predictions")])
    assert "<code>POST /v1/predict</code>" in page and "/openapi.json" in page
    assert "&quot;colour&quot;: &quot;" in page and "http" not in page
