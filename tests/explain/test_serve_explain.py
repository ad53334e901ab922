"""``honed serve --explain``: ``POST /v1/explain`` over real HTTP, occlusion through ONNX
Runtime, off unless asked for, one record per request."""

from __future__ import annotations

import subprocess
import sys

import httpx
import numpy as np
import pytest

from tests.serve.conftest import Server

RECORD = {"a": 2.0, "b": 1.5, "n1": 0.1, "n2": -0.3, "colour": "red", "const": 1.0}


@pytest.fixture(scope="module")
def bundle(runs):
    from honed.export.bundle import export_bundle

    return export_bundle(runs["known"], exporter="torchscript")


@pytest.fixture(scope="module")
def servers(bundle):
    on, off = Server(bundle, "--explain"), Server(bundle)
    yield on, off
    on.stop()
    off.stop()


def test_one_record_is_explained_by_column_and_the_known_columns_lead(servers):
    on, _ = servers
    answer = httpx.post(f"{on.url}/v1/explain", json={"records": [RECORD]}, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    names = [item["name"] for item in body["attributions"]]
    assert sorted(names) == ["a", "b", "colour", "const", "n1", "n2"]  # colour once
    assert set(names[:2]) == {"a", "b"} and body["method"] == "occlusion"
    assert body["explained"] == f"class {body['prediction']['class']}"


def test_more_than_one_record_or_a_bad_one_is_422_and_off_by_default(servers):
    on, off = servers
    two = httpx.post(f"{on.url}/v1/explain", json={"records": [RECORD, RECORD]}, timeout=30)
    assert two.status_code == 422 and "exactly one record" in two.text
    bad = httpx.post(f"{on.url}/v1/explain", json={"records": [{**RECORD, "a": "x"}]},
                     timeout=30)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "records", 0,
                                                                          "a"]
    assert httpx.post(f"{off.url}/v1/explain", json={"records": [RECORD]},
                      timeout=30).status_code == 404


def test_an_image_is_explained_by_region(runs):
    from honed.export.bundle import export_bundle

    server = Server(export_bundle(runs["digits"], exporter="torchscript"), "--explain")
    try:
        image = np.random.default_rng(0).integers(0, 17, size=(1, 8, 8)).tolist()
        answer = httpx.post(f"{server.url}/v1/explain", json={"inputs": [image]}, timeout=30)
        assert answer.status_code == 200, answer.text
        items = answer.json()["attributions"]
        assert len(items) == 16 and {item["kind"] for item in items} == {"region"}
        assert answer.json()["baseline"] == "a black image"
        two = httpx.post(f"{server.url}/v1/explain", json={"inputs": [image, image]},
                         timeout=30)
        assert two.status_code == 422 and "exactly one input" in two.text
    finally:
        server.stop()


def test_the_server_explains_without_importing_torch(bundle):
    code = ("import sys, json, numpy as np\n"
            "from honed.serve.runtime import load_runtime\n"
            "from honed.serve.explain import occlusion\n"
            f"runtime = load_runtime({str(bundle)!r})\n"
            f"x = runtime.prepare([{RECORD!r}])\n"
            "print(json.dumps(occlusion(runtime, x)['attributions'][0]))\n"
            "assert 'torch' not in sys.modules, 'torch was imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert np.isfinite(__import__("json").loads(done.stdout)["value"])

