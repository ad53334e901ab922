"""Request bodies of ``POST /v1/predict`` over real HTTP: ``.npy`` arrays, and JSON that
orjson refuses (NaN, huge integers) answered as pydantic answered it before."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from honed.serve.body import NPY_TYPE, decode_body
from honed.serve.runtime import load_runtime
from tests.serve.test_runtime import IRIS_ROW

NPY = {"content-type": NPY_TYPE}


def npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array, allow_pickle=array.dtype.hasobject)
    return out.getvalue()


@pytest.fixture(scope="module")
def digits(bundles, start_server):
    return start_server(bundles["digits"], "--max-body", "20000", "--max-records", "8")


def post(server, content: bytes, headers=None) -> httpx.Response:
    return httpx.post(f"{server.url}/v1/predict", content=content, headers=headers or {},
                      timeout=30)


def test_npy_bodies_predict_like_json(bundles, digits, start_server):
    x = np.random.default_rng(2).integers(0, 17, size=(3, 1, 8, 8))
    as_json = post(digits, httpx.Request("POST", "/", json={"inputs": x.tolist()}).content)
    assert as_json.status_code == 200, as_json.text
    for dtype in (np.float32, np.float64, np.uint8, ">f4"):
        answer = post(digits, npy(x.astype(dtype)), NPY)
        assert answer.status_code == 200, (dtype, answer.text)
        for a, b in zip(answer.json()["predictions"], as_json.json()["predictions"],
                        strict=True):
            assert a["class"] == b["class"]
            np.testing.assert_allclose(list(a["probabilities"].values()),
                                       list(b["probabilities"].values()), rtol=1e-6)
    fortran = post(digits, npy(np.asfortranarray(x.astype(np.float32))), NPY)
    assert fortran.json() == post(digits, npy(x.astype(np.float32)), NPY).json()
    iris = start_server(bundles["iris"])  # a table model: rows of numbers in column order
    rows = np.asarray([list(IRIS_ROW.values())], dtype=np.float32)
    got = post(iris, npy(rows), {"content-type": f"{NPY_TYPE}; charset=binary"})
    expected = load_runtime(bundles["iris"], probe=False).predict([IRIS_ROW]).labels
    assert got.status_code == 200 and got.json()["predictions"][0]["class"] == expected[0]


def _header_claims(shape: tuple[int, ...]) -> bytes:
    """A .npy body whose header claims ``shape`` but holds 16 bytes of data."""
    out = io.BytesIO()
    np.lib.format.write_array_header_1_0(out, {"descr": "<f4", "fortran_order": False,
                                               "shape": shape})
    return out.getvalue() + bytes(16)


def _sample(value: bytes, first: bytes | None = None) -> bytes:
    """A JSON body of one 1x8x8 sample written by hand: ``value`` everywhere, ``first``
    in the first place."""
    row = b"[" + b", ".join([first or value] + [value] * 7) + b"]"
    rest = b"[" + b", ".join([value] * 8) + b"]"
    return b'{"inputs": [[[' + b", ".join([row] + [rest] * 7) + b"]]]}"


@pytest.mark.parametrize("body, loc, words", [
    (b"not an array", ["body"], "not a .npy array"),
    (npy(np.array([["a"]], dtype=object)), ["body"], "holds object"),
    (npy(np.zeros((1, 1, 8, 8), dtype=np.complex64)), ["body"], "holds complex64"),
    (npy(np.zeros(2, dtype=[("a", "f4")])), ["body"], "send integers or floats"),
    (npy(np.zeros((1, 1, 8, 8), dtype=np.float32))[:-3], ["body"], "253 bytes of data"),
    (_header_claims((10 ** 6, 10 ** 6)), ["body"], "16 bytes of data follow"),
    (npy(np.float32(1.0)), ["body"], "a single number"),
    (npy(np.zeros((2, 1, 8, 7), dtype=np.float32)), ["body", "inputs"], "shape [2, 1, 8, 7]"),
    (npy(np.zeros((0, 1, 8, 8), dtype=np.float32)), ["body", "inputs"], "at least one"),
    (npy(np.zeros((9, 1, 8, 8), dtype=np.float32)), ["body", "inputs"], "at most 8 items"),
    (npy(np.full((2, 1, 8, 8), np.inf, dtype=np.float32)), ["body", "inputs", 0], "NaN or inf"),
])
def test_bad_npy_bodies_get_one_422_naming_the_problem(digits, body, loc, words):
    answer = post(digits, body, NPY)
    assert answer.status_code == 422, answer.text
    (detail,) = answer.json()["detail"]
    assert detail["loc"] == loc and words in detail["msg"], detail


@settings(max_examples=120, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mangled_npy_bodies_never_get_a_5xx(digits, data):
    dtype = data.draw(st.sampled_from(["<f4", ">f8", "|u1", "<i8", "<f2", "|b1", "<c8"]))
    shape = data.draw(st.lists(st.integers(0, 9), max_size=5))
    body = bytearray(npy(np.ones(shape, dtype=dtype)))
    for _ in range(data.draw(st.integers(0, 4))):  # overwrite, cut or append a few bytes
        at = data.draw(st.integers(0, len(body)))
        body[at:at + data.draw(st.integers(0, 3))] = data.draw(st.binary(max_size=3))
    answer = post(digits, bytes(body), NPY)
    assert answer.status_code in (200, 413, 422), answer.text
    if answer.status_code == 422:
        assert len(answer.json()["detail"]) == 1


@pytest.mark.parametrize("raw, loc, words", [
    # orjson refuses these; the answer stays the one pydantic's parser led to before
    (b'{"inputs": [NaN]}', ["body", "inputs", 0], "has shape []"),
    (_sample(b"Infinity"), ["body", "inputs", 0], "NaN or infinite"),
    (_sample(b"1", first=b"NaN"), ["body", "inputs", 0], "NaN or infinite"),
    (_sample(b"1"), None, ""),  # the check itself: this one is fine
    (_sample(b"1", first=b"-Infinity"), ["body", "inputs", 0], "NaN or infinite"),
    (b'{"inputs": [[1, 2, 3, ' + str(10 ** 400).encode() + b"]]}", ["body", "inputs", 0],
     "too large for a float"),
    (b'{"inputs": [[1, 2]], "extra": 1}', ["body", "extra"], "Extra inputs"),
    (b'{"inputs": [[1, 2]]', ["body"], "Invalid JSON"),
    (b'{"records": [{"a": [1]}]}', ["body", "records", 0, "a"], ""),
])
def test_json_that_orjson_refuses_is_answered_as_before(digits, raw, loc, words):
    answer = post(digits, raw, {"content-type": "application/json"})
    if loc is None:
        assert answer.status_code == 200, answer.text
        return
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"][0]
    assert detail["loc"][:len(loc)] == loc and words in detail["msg"], detail


def test_decode_body_takes_plain_bodies_fast_and_the_rest_through_pydantic():
    from pydantic import ValidationError

    assert decode_body(b'{"inputs": [[1.5, 2]]}') == ("inputs", [[1.5, 2]])
    assert decode_body(b'{"records": [{"a": 1, "b": null}]}') == ("records",
                                                                  [{"a": 1, "b": None}])
    field, items = decode_body(b'{"inputs": [NaN]}')  # not JSON, but accepted as before
    assert field == "inputs" and np.isnan(items[0])
    for raw in (b'{"records": [{"a": 1}], "inputs": []}', b'{"inputs": null}', b"[]",
                b'{"records": [[1]]}'):
        with pytest.raises(ValidationError):
            decode_body(raw)


def test_npy_headers_of_numpy_save_and_of_other_writers_read_alike():
    from honed.serve.body import read_npy

    array = np.arange(6, dtype="<f4").reshape(2, 3)
    for version in ((1, 0), (2, 0)):
        out = io.BytesIO()
        np.lib.format.write_array(out, array, version=version)
        np.testing.assert_array_equal(read_npy(out.getvalue()), array)
    # keys in another order: not numpy.save's layout, so numpy's own reader parses it
    header = b"{'shape': (2, 3), 'descr': '<f4', 'fortran_order': False}"
    header += b" " * (117 - len(header)) + b"\n"
    body = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
    np.testing.assert_array_equal(read_npy(body + array.tobytes()), array)
