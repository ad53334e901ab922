"""Generated JSON against every endpoint of a real server: a malformed request gets a 4xx,
never a 5xx (Hypothesis, derandomized and bounded so that it runs the same way every time)."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.serve.test_runtime import IRIS_ROW

HUGE = 10 ** 400  # an integer that no float holds
scalars = (st.none() | st.booleans() | st.floats()
           | st.integers() | st.integers(min_value=-HUGE, max_value=HUGE)
           | st.text(max_size=8) | st.sampled_from(["1e999", "NaN", "-0", "", "1" * 400]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=5)
                      | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=24)
#: rows close to valid: the model's own columns, any values, now and then an odd key
records = st.lists(st.dictionaries(st.sampled_from([*IRIS_ROW, "target", "x"]), values,
                                   max_size=6), max_size=4)
inputs = st.lists(st.lists(values, min_size=0, max_size=5) | values, max_size=4)
bodies = (values | st.fixed_dictionaries({"records": records})
          | st.fixed_dictionaries({"inputs": inputs})
          | st.fixed_dictionaries({}, optional={"records": values, "inputs": values,
                                               "extra": values}))
FUZZ = settings(max_examples=250, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def server(bundles, start_server):
    server = start_server(bundles["iris"], "--max-body", "20000")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        paths = client.get("/openapi.json").json()["paths"]
        routes = [(method.upper(), path) for path, item in paths.items() for method in item]
        yield server, client, routes


@FUZZ
@given(body=bodies)
@example(body={"inputs": [HUGE]})  # the case: OverflowError was a 500
@example(body={"inputs": [[1, 2, 3, HUGE]]})
@example(body={"records": [{**IRIS_ROW, "sepal width (cm)": HUGE}]})
def test_generated_json_never_gets_a_5xx(server, body):
    _, client, routes = server
    raw = json.dumps(body).encode()  # NaN and Infinity as Python writes them, too
    for method, path in [*routes, ("POST", "/health"), ("PUT", "/v1/predict")]:
        answer = client.request(method, path, content=raw,
                                headers={"content-type": "application/json"})
        assert answer.status_code < 500, (method, path, body, answer.text)
        if path == "/v1/predict" and method == "POST" and answer.status_code != 200:
            assert 400 <= answer.status_code < 500 and "detail" in answer.json()

