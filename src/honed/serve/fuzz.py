"""Malformed request bodies for hardening tests: every one must get a 4xx, never a 5xx.

``malformed_payloads(metadata, n, seed=0)`` yields ``(body, content_type)`` pairs built from a
model's ``/v1/metadata``: broken JSON, wrong types, missing and unknown columns, values that
are not numbers or not finite, ragged and wrongly shaped arrays, deep nesting, odd content
types and bodies over the size limit; for a text model, records whose texts are missing, empty,
not strings or longer than the limit. Used by ``tests/serve`` and ``bench/serve.py``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["malformed_payloads"]

JSON = "application/json"


def malformed_payloads(metadata: Mapping[str, Any], n: int, *, seed: int = 0,
                       max_body_bytes: int = 1 << 20, max_text_chars: int = 100_000
                       ) -> Iterator[tuple[bytes, str]]:
    """``n`` request bodies (and content types) that the server must refuse with a 4xx."""
    rng = random.Random(seed)
    shape = list(metadata["input"]["shape"])
    columns = [c["name"] for c in metadata["input"].get("columns") or []]
    makers = [_random_bytes, _truncated, _wrong_top_level, _both_or_neither, _bad_inputs,
              _deep, _odd_content_type]
    if metadata["input"].get("kind") == "text":
        too_long = min(max_text_chars + 1, max_body_bytes // 2)

        def bad_text(rng, shape, columns):
            return _bad_text_records(rng, columns, too_long)

        makers += [bad_text] * 3
    elif columns:
        makers += [_bad_records] * 3
    else:
        makers += [_bad_inputs] * 2
    for i in range(n):
        if i % 500 == 499:
            yield b'{"inputs": [' + b"0," * (max_body_bytes // 2) + b"0]}", JSON
            continue
        maker = rng.choice(makers)
        body = maker(rng, shape, columns)
        if isinstance(body, tuple):
            yield body
        else:
            yield (body if isinstance(body, bytes) else json.dumps(body).encode()), JSON


def _valid_record(rng, columns):
    return {name: round(rng.uniform(0, 10), 3) for name in columns}


def _sample(rng, shape):
    if not shape:
        return round(rng.uniform(0, 10), 2)
    return [_sample(rng, shape[1:]) for _ in range(shape[0])]


def _random_bytes(rng, shape, columns):
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))


def _truncated(rng, shape, columns):
    full = json.dumps({"records": [_valid_record(rng, columns)]} if columns
                      else {"inputs": [_sample(rng, shape)]})
    return full[: rng.randrange(1, len(full) - 1)].encode()


def _wrong_top_level(rng, shape, columns):
    return rng.choice([[], [1, 2], "records", 42, None, True, {"records": "x"},
                       {"inputs": {"a": 1}}, {"inputs": 3}, {"records": [[1, 2]]},
                       {"records": [None]}, {"inputs": None, "records": None}])


def _both_or_neither(rng, shape, columns):
    return rng.choice([{}, {"records": [], "inputs": []}, {"foo": 1},
                       {"inputs": [_sample(rng, shape)], "records": [{}]}])


def _bad_records(rng, shape, columns):
    record = _valid_record(rng, columns)
    name = rng.choice(columns)
    kind = rng.randrange(8)
    if kind == 0:
        del record[name]
    elif kind == 1:
        record["x" * rng.randrange(1, 50)] = 1.0
    elif kind == 2:
        record[name] = rng.choice(["abc", "", "1e", "nan?", "0x1g", " "])
    elif kind == 3:
        record[name] = rng.choice([[1], {"a": 1}, [], {}])
    elif kind == 4:
        return json.dumps({"records": [record]}).replace(
            json.dumps(record[name]), rng.choice(["NaN", "Infinity", "-Infinity", "1e999"]),
            1).encode()
    elif kind == 5:
        return {"records": []}
    elif kind == 6:
        return {"records": [record] * rng.randrange(1, 5) + [{}]}
    else:  # (a huge number is no error here: training clips table outliers)
        record[name] = True
    return {"records": [record]}


def _bad_text_records(rng, columns, too_long):
    record = {name: "a fine film" for name in columns}
    name = rng.choice(columns)
    kind = rng.randrange(5)
    if kind == 0:
        del record[name]
    elif kind == 1:
        record["x" * rng.randrange(1, 50)] = "text"
    elif kind == 2:
        record = {key: rng.choice(["", " ", "\n\t"]) for key in record}
    elif kind == 3:
        record[name] = rng.choice([1, 2.5, True, None, ["a"], {"a": "b"}])
    else:
        record[name] = "word " * (too_long // 5 + 1)
    return {"records": [record]}


def _bad_inputs(rng, shape, columns):
    kind = rng.randrange(8)
    if kind == 0:  # one axis too long or too short
        wrong = list(shape)
        axis = rng.randrange(len(wrong))
        wrong[axis] += rng.choice([-1, 1, 3]) if wrong[axis] > 1 else rng.choice([1, 3])
        return {"inputs": [_sample(rng, wrong)]}
    if kind == 1:  # ragged
        return {"inputs": [_sample(rng, shape), _sample(rng, shape[:-1] + [shape[-1] + 1])
                           if len(shape) else [1, 2]]}
    if kind == 2:
        return {"inputs": [["a"] * (shape[-1] if shape else 1)]}
    if kind == 3:
        body = json.dumps({"inputs": [_sample(rng, shape)]})
        token = rng.choice(["NaN", "Infinity", "-Infinity", "1e999"])
        return re.sub(r"-?\d+(\.\d+)?", token, body, count=1).encode()  # one value replaced
    if kind == 4:
        return {"inputs": []}
    if kind == 5:
        return {"inputs": [None]} if rng.random() < 0.5 else \
            {"inputs": [_sample(rng, shape)], "x": 1e300}
    if kind == 6 and not columns:  # finite in JSON, infinite in float32
        body = json.dumps({"inputs": [_sample(rng, shape)]})
        return re.sub(r"\d+\.\d+", "1e300", body, count=1).encode()
    return {"inputs": [_sample(rng, shape + [2])]}


def _deep(rng, shape, columns):
    depth = rng.choice([50, 500, 5000, 50000])
    return b'{"inputs": ' + b"[" * depth + b"1" + b"]" * depth + b"}"


def _odd_content_type(rng, shape, columns):
    body = json.dumps({"records": [{"x": "y"}]} if columns else {"inputs": [[["x"]]]})
    return body.encode(), rng.choice(["text/plain", "application/x-www-form-urlencoded",
                                      "multipart/form-data; boundary=x", "application/xml"])
