"""A bundle ready to predict: preprocessing, ONNX Runtime, and outputs in the user's terms.

:func:`load_runtime` reads the bundle with :func:`honed.export.card.read_bundle` (files,
hashes, external data), then probes ``model.onnx`` in a child process: the child creates the
session and runs one batch. A model file built to crash or hang ONNX Runtime therefore kills
the child, and the parent reports a :class:`~honed.errors.BundleError`. Only then does the
parent hold its own session. Nothing here imports torch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from honed.errors import BundleError, DataError

__all__ = ["Runtime", "Predictions", "load_runtime", "probe_model"]

PROBE_TIMEOUT = 60.0


@dataclass
class Predictions:
    """Outputs of one batch: class names and probabilities, or values in target units."""

    task: str
    class_names: list[str] | None = None
    labels: list[str] | None = None
    probabilities: np.ndarray | None = None
    values: np.ndarray | None = None
    truncated: np.ndarray | None = None  # text: which texts were cut to max_length tokens

    def __len__(self) -> int:
        return len(self.labels) if self.labels is not None else len(self.values)

    def records(self) -> list[dict[str, Any]]:
        """One JSON-ready dict per row: ``{"class", "probabilities"}`` or ``{"value"}``, and
        ``"truncated"`` for text."""
        if self.labels is not None:
            names = self.class_names
            out = [{"class": label, "probabilities": dict(zip(names, map(float, row),
                                                              strict=True))}
                   for label, row in zip(self.labels, self.probabilities, strict=True)]
        elif self.values.shape[1] == 1:
            out = [{"value": float(v)} for v in self.values[:, 0]]
        else:
            out = [{"values": [float(v) for v in row]} for row in self.values]
        if self.truncated is not None:
            for record, cut in zip(out, self.truncated.tolist(), strict=True):
                record["truncated"] = cut
        return out

    def columns(self) -> dict[str, list]:
        """The same as table columns: ``class, p_NAME...`` or ``value`` / ``value_I...``, and
        ``truncated`` for text."""
        if self.labels is not None:
            out: dict[str, list] = {"class": list(self.labels)}
            for j, name in enumerate(self.class_names):
                out[f"p_{name}"] = self.probabilities[:, j].tolist()
        elif self.values.shape[1] == 1:
            out = {"value": self.values[:, 0].tolist()}
        else:
            out = {f"value_{j}": self.values[:, j].tolist()
                   for j in range(self.values.shape[1])}
        if self.truncated is not None:
            out["truncated"] = self.truncated.tolist()
        return out


class Runtime:
    """Predictions from a checked bundle; use :func:`load_runtime` to build one.

    Args:
        bundle: A :class:`honed.export.card.Bundle`.
        threads: ONNX Runtime intra-op threads (None: its default).
    """

    def __init__(self, bundle, *, threads: int | None = None):
        from honed.export.runtime import input_dtype, ort_session

        self.bundle = bundle
        self.preprocess: Mapping[str, Any] = bundle.preprocess
        self.task: str = bundle.task
        self.class_names: list[str] | None = bundle.class_names
        self.input_shape = tuple(int(d) for d in bundle.input_shape)
        self.kind: str = self.preprocess["kind"]
        if self.class_names is not None and len(self.class_names) != bundle.num_outputs:
            raise BundleError(f"{bundle.root}: card.json names {len(self.class_names)} classes "
                              f"for {bundle.num_outputs} outputs")
        self.session = ort_session(bundle.model_path, threads=threads)
        self._input = self.session.get_inputs()[0].name
        self._dtype = input_dtype(self.session)  # float32, or int64 token ids (text)

    def prepare(self, raw: Any) -> np.ndarray:
        """Raw inputs → model inputs (float32, or int64 token ids), exactly as training
        prepared them."""
        return self.prepare_cut(raw)[0]

    def prepare_cut(self, raw: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`prepare`, and for text which texts were cut to ``max_length`` tokens."""
        if self.kind == "text":
            from honed.data.text import text_ids_cut

            # the serving process forks nothing once it serves: the thread pool is safe
            ids, cut = text_ids_cut(self.preprocess, raw, threads=True)
            if not self.preprocess.get("tabular"):
                return ids, cut
            from honed.data.mixed import with_tabular

            with np.errstate(over="ignore", invalid="ignore"):  # reported below, per row
                x = with_tabular(self.preprocess, ids, raw)
            _first_non_finite(x, "input row {} is out of range: once preprocessed, its values "
                                 "do not fit in float32")
            return x, cut
        from honed.data.transform import apply_preprocess

        with np.errstate(over="ignore", invalid="ignore"):  # reported below, per row
            x = apply_preprocess(self.preprocess, raw)
        if x.shape[1:] != self.input_shape:
            raise DataError(f"inputs of shape {x.shape[1:]} do not fit the model's input "
                            f"shape {self.input_shape}")
        _first_non_finite(x, "input row {} is out of range: once preprocessed, its values "
                             "do not fit in float32")
        return x, None

    def run(self, x: np.ndarray) -> np.ndarray:
        """Raw model outputs for prepared inputs ``(N, *input_shape)``."""
        feed = {self._input: np.ascontiguousarray(x, dtype=self._dtype)}
        return np.asarray(self.session.run(None, feed)[0], dtype=np.float32)

    def convert(self, outputs: np.ndarray) -> Predictions:
        """Raw outputs → class probabilities and names, or values in the target's units."""
        outputs = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
        _first_non_finite(outputs, "the model's output for input row {} is not finite (inputs "
                                   "far outside the range it was trained on?)")
        if self.task == "classification" and self.class_names:
            shifted = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            probs = shifted / shifted.sum(axis=1, keepdims=True)
            labels = [self.class_names[i] for i in probs.argmax(axis=1)]
            return Predictions(self.task, list(self.class_names), labels, probs)
        from honed.data.transform import inverse_target_scale

        return Predictions(self.task, values=inverse_target_scale(self.preprocess, outputs))

    def predict(self, raw: Any) -> Predictions:
        """``convert(run(prepare(raw)))``: raw rows in, predictions out."""
        x, cut = self.prepare_cut(raw)
        predictions = self.convert(self.run(x))
        predictions.truncated = cut
        return predictions

    def predict_many(self, payloads: list[Any]) -> list[list[dict[str, Any]] | Exception]:
        """Predict several requests' inputs in one runtime call (the micro-batcher's ``fn``).

        Each payload is a list of records (tables, text) or an ``(n, *shape)`` array, already
        checked by :mod:`honed.serve.payload`. Preprocessing runs once over the joined rows;
        should it fail, each payload is tried alone so only the bad one gets the error.

        Returns:
            Per payload, its JSON-ready prediction records, or the exception it raised.
        """
        sizes = [len(p) for p in payloads]
        try:
            if self.kind in ("table", "text"):
                joined: Any = [row for payload in payloads for row in payload]
            else:
                joined = payloads[0] if len(payloads) == 1 else np.concatenate(payloads)
            records = self.predict(joined).records()
        except DataError:
            if len(payloads) == 1:
                raise
            return [self._predict_alone(payload) for payload in payloads]
        out, start = [], 0
        for size in sizes:
            out.append(records[start:start + size])
            start += size
        return out

    def _predict_alone(self, payload: Any) -> list[dict[str, Any]] | Exception:
        try:
            return self.predict(payload).records()
        except DataError as error:
            return error

    def warm_up(self) -> None:
        """One prediction on zeros, so the first request does not pay for lazy imports and
        ONNX Runtime's first-run allocations (and, for text, parsing the tokenizer)."""
        if self.kind == "text":
            record: dict[str, Any] = {name: "warm up" for name in
                                      self.preprocess["text"]["columns"]}
            for entry in (self.preprocess.get("tabular") or {}).get("columns", []):
                record[entry["name"]] = (0.0 if entry["type"] == "numeric"
                                         else (entry.get("categories") or [""])[0])
            self.predict([record])
            return
        shape = (len(self.preprocess["columns"]),) if self.kind == "table" else self.input_shape
        try:
            self.predict(np.zeros((1, *shape)))
        except DataError:  # e.g. a table whose columns cannot all be zero; the run still warms
            self.convert(self.run(np.zeros((1, *self.input_shape), dtype=np.float32)))

    def metadata(self) -> dict[str, Any]:
        """What a client needs to call the model: schema, classes, metrics."""
        card = self.bundle.card
        # the shape a client sends: raw columns for a table (one-hot encoding happens here)
        # and for text (strings by text column, and the columns beside them), not the model's
        # own input (token ids and encoded features)
        schema: dict[str, Any] = {"kind": self.kind, "shape": list(self.input_shape)}
        if self.kind == "text":
            text = self.preprocess["text"]
            schema["columns"] = [{"name": name, "type": "text"} for name in text["columns"]]
            schema["columns"] += _table_schema((self.preprocess.get("tabular") or {})
                                               .get("columns", []))
            schema["max_length"] = text["max_length"]
        if self.kind == "table":
            schema["columns"] = _table_schema(self.preprocess["columns"])
        if "columns" in schema:
            schema["shape"] = [len(schema["columns"])]
        return {"name": card.get("name"), "task": self.task, "variant": card.get("variant"),
                "input": schema, "output": card.get("output"), "class_names": self.class_names,
                "metrics": card.get("metrics"), "parameters": card.get("parameters"),
                "model": card.get("model"), "versions": card.get("versions")}


def _table_schema(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each table column as a client sends it: name, type, and categories where it has them."""
    return [{"name": c["name"], "type": c["type"],
             **({"categories": list(c.get("categories") or [])}
                if c["type"] != "numeric" else {})} for c in columns]


def _first_non_finite(values: np.ndarray, message: str) -> None:
    finite = np.isfinite(values).reshape(len(values), -1).all(axis=1)
    if not finite.all():
        raise DataError(message.format(int(np.argmin(finite)) + 1))


def load_runtime(folder: str | Path, *, threads: int | None = None, probe: bool = True,
                 probe_timeout: float = PROBE_TIMEOUT) -> Runtime:
    """Read and check the bundle in ``folder``, probe its model in a child, open a session.

    Raises:
        BundleError: A missing or tampered file, or a model that fails, crashes or hangs
            ONNX Runtime in the probe.
    """
    from honed.export.card import read_bundle

    bundle = read_bundle(folder)
    if probe:
        probe_model(bundle.model_path, bundle.input_shape, bundle.num_outputs,
                    timeout=probe_timeout)  # zeros: for a text model, all padding
    return Runtime(bundle, threads=threads)


def probe_model(path: str | Path, input_shape, num_outputs: int | None = None, *,
                timeout: float = PROBE_TIMEOUT) -> None:
    """Load ``path`` and run one batch of two zero inputs in a child process; with
    ``num_outputs``, the output must be ``(2, num_outputs)``.

    Raises:
        BundleError: The child failed, was killed by a signal, or ran past ``timeout``.
    """
    command = [sys.executable, "-m", "honed.serve.runtime", str(path),
               json.dumps([int(d) for d in input_shape]), json.dumps(num_outputs)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BundleError(f"{path}: ONNX Runtime did not load and run the model within "
                          f"{timeout:g} s (probed in a child process)") from None
    if done.returncode < 0:
        try:
            name = signal.Signals(-done.returncode).name
        except ValueError:
            name = f"signal {-done.returncode}"
        raise BundleError(f"{path}: ONNX Runtime crashed on this model ({name}, in a child "
                          "process); the file is corrupt or hostile")
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit code {done.returncode}"
        raise BundleError(detail if str(path) in detail else f"{path}: {detail}")


def _probe_main(argv: list[str]) -> int:
    """Child side of :func:`probe_model`; prints one line on stderr and exits 3 on failure."""
    path, shape, outputs = argv[0], tuple(json.loads(argv[1])), json.loads(argv[2])
    try:
        from honed.export.runtime import input_dtype, ort_session

        session = ort_session(path, threads=1)
        name = session.get_inputs()[0].name
        out = session.run(None, {name: np.zeros((2, *shape), dtype=input_dtype(session))})[0]
        out = np.asarray(out)
        expected = (2, outputs) if outputs is not None else None
        if out.ndim < 1 or out.shape[0] != 2 or (expected and out.shape != expected):
            raise BundleError(f"{path}: the model's output has shape {list(out.shape)} for a "
                              f"batch of 2; card.json expects {list(expected or [2, '...'])}")
        if not np.issubdtype(out.dtype, np.floating):
            raise BundleError(f"{path}: the model's output is {out.dtype}; expected floats")
    except Exception as error:  # one line for the parent, whatever ORT raised
        text = " ".join(str(error).split()) or type(error).__name__
        print(f"{path}: ONNX Runtime failed on the model: {text}"
              if not isinstance(error, BundleError) else text, file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(_probe_main(sys.argv[1:]))
