"""int8 quantization of an ONNX model with ONNX Runtime, within an accuracy budget.

Two modes: ``dynamic`` stores weights in int8 and quantizes activations on the fly per call;
``static`` writes a QDQ model whose activation ranges come from calibration samples
(``minmax``, ``entropy`` or ``percentile``). Weights are int8 per output channel by default;
activations are uint8 (ONNX Runtime's fast U8S8 path on x86). ORT's pre-processing (shape
inference and graph clean-up) runs first. When a ``score`` and ``max_drop`` are given and the
drop is too large, the most sensitive nodes stay in float (:mod:`honed.compress.sensitivity`).
Finally both models are timed at batch 1 and 64 with the same runtime and threads: int8 is
worth keeping only when it is faster than the float ONNX model on this machine.
"""

from __future__ import annotations

import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path

import numpy as np

from honed.compress.calibration import (
    CALIBRATIONS,
    MAX_SAMPLES,
    calibration_rows,
    check_calibration_data,
    model_input,
)
from honed.compress.measure import onnx_latency_ms
from honed.compress.ort_quantizer import make_quantizer, prepare_model
from honed.compress.scoring import onnx_scorer
from honed.compress.sensitivity import candidate_nodes, drop_of, fallback_search
from honed.errors import UserInputError
from honed.io import atomic_write_bytes

__all__ = ["Quantized", "quantize_onnx", "onnx_scorer", "MODES", "BATCHES"]

MODES = ("dynamic", "static")
BATCHES = (1, 64)  # latency is reported at these batch sizes, as "batch1" and "batch64"


@dataclass
class Quantized:
    """An int8 model written by :func:`quantize_onnx`, with its score and latencies."""

    path: Path
    mode: str
    calibration: str | None
    per_channel: bool
    excluded: list[str]  # nodes kept in float
    score: float | None
    latency_ms: dict  # {"batch1": ms, "batch64": ms}
    float_latency_ms: dict  # the float ONNX model, same runtime, threads and inputs
    faster: bool  # lower median latency than the float model at every batch size measured
    note: str
    drop: float | None = None
    baseline: float | None = None
    within_budget: bool | None = None  # None without a budget
    sensitivity: dict[str, float] = field(default_factory=dict)
    evaluations: int = 0  # quantized models scored
    calibration_samples: int | None = None  # rows that calibrated (static)


def quantize_onnx(float_path: str | Path, out_path: str | Path, *, mode: str = "dynamic",
                  calibration: str = "minmax", calibration_data: np.ndarray | None = None,
                  per_channel: bool = True, score: Callable[[Path], float] | None = None,
                  baseline: float | None = None, max_drop: float | None = None,
                  higher_is_better: bool = True, threads: int | None = None,
                  measure: bool = True, rounds: int = 3,
                  calibration_samples: int = MAX_SAMPLES) -> Quantized:
    """Quantize ``float_path`` to int8 and write the result to ``out_path`` atomically.

    Args:
        float_path: the float ONNX model (e.g. from :func:`honed.export.onnx.export_onnx`).
        out_path: where the int8 model goes; written once, at the end.
        mode: ``dynamic`` (int8 weights) or ``static`` (QDQ, calibrated activations too).
        calibration: ``minmax``, ``entropy`` or ``percentile`` (static only).
        calibration_data: training samples, preprocessed float32 ``[n, *input_shape]``;
            required for static.
        per_channel: one weight scale per output channel rather than one per tensor.
        score: the metric of an ONNX file on a held-out split (see :func:`onnx_scorer`).
        baseline: the float model's score; computed with ``score`` when None.
        max_drop: largest drop of ``score`` allowed; beyond it, sensitive nodes stay in float.
        higher_is_better: whether a larger ``score`` is better (accuracy, r2) or worse (mse).
        threads: intra-op threads for the latency measurements (None: ORT's default).
        measure: time the float and int8 models (off only to save time in tests).
        rounds: timing rounds, float and int8 alternating; each figure is the median.
        calibration_samples: at most this many rows of ``calibration_data`` calibrate, evenly
            spaced (rounded down to whole batches of 64; ``Quantized.calibration_samples``).

    Returns:
        A :class:`Quantized` record; ``note`` says what was kept in float and whether the int8
        model is worth keeping on this machine.

    Raises:
        UserInputError: a bad argument, a missing file, or static mode without calibration
            data (nothing is written).
        CompressError: ONNX Runtime could not quantize the model.

    Example:
        >>> q = quantize_onnx("model.onnx", "int8.onnx", mode="static", calibration_data=x,
        ...                   score=onnx_scorer(xv, yv, "classification"), max_drop=0.01)
    """
    float_path, out_path = Path(float_path), Path(out_path)
    data = _check_arguments(float_path, out_path, mode, calibration, calibration_data, score,
                            max_drop)
    if data is not None:
        data = calibration_rows(data, calibration_samples)
    with tempfile.TemporaryDirectory(prefix="honed-quantize-") as scratch_dir:
        scratch = Path(scratch_dir)
        source, prepared = prepare_model(float_path, scratch)
        candidates = candidate_nodes(source)
        quantize = make_quantizer(source, scratch, mode=mode, calibration=calibration,
                                  data=data, per_channel=per_channel)
        chosen, value, drop, within = quantize([]), None, None, None
        excluded, sensitivity, evaluations, notes = [], {}, 0, []
        if score is not None:
            if baseline is None:
                baseline = float(score(float_path))
            value = float(score(chosen))
            drop = drop_of(baseline, value, higher_is_better)
            evaluations = 1
        if max_drop is not None and drop is not None:
            within = drop <= max_drop + 1e-9
            if not within:
                found = fallback_search(quantize, score, candidates, baseline=baseline,
                                        max_drop=max_drop, higher_is_better=higher_is_better,
                                        first=(chosen, value))
                chosen, value, drop = found.path, found.score, found.drop
                within = found.within_budget
                excluded, sensitivity = found.excluded, found.sensitivity
                evaluations += found.evaluations
        atomic_write_bytes(out_path, chosen.read_bytes())
    notes.append(_describe(mode, calibration, per_channel, prepared))
    if excluded or within is False:
        notes.append(_budget_note(excluded, candidates, drop, max_drop, within))
    latency, float_latency, faster = {}, {}, False
    if measure:
        latency, float_latency = _timings(out_path, float_path, threads=threads, rounds=rounds)
        faster = all(latency[k] < float_latency[k] for k in latency)
        notes.append(_speed_note(latency, float_latency, faster))
    return Quantized(out_path, mode, calibration if mode == "static" else None, per_channel,
                     excluded, value, latency, float_latency, faster, "; ".join(notes),
                     drop=drop, baseline=baseline, within_budget=within,
                     sensitivity=sensitivity, evaluations=evaluations,
                     calibration_samples=None if data is None else len(data))


def _timings(int8_path: Path, float_path: Path, *, threads: int | None, rounds: int
             ) -> tuple[dict, dict]:
    """Median over ``rounds`` of each model's median latency, float and int8 taken in turn,
    so that a burst of load on the machine hits both alike."""
    samples: dict[tuple[Path, int], list[float]] = {}
    for _ in range(max(1, rounds)):
        for batch in BATCHES:
            for path in (float_path, int8_path):
                ms = onnx_latency_ms(path, batch=batch, threads=threads)
                samples.setdefault((path, batch), []).append(ms)
    return tuple({f"batch{b}": statistics.median(samples[path, b]) for b in BATCHES}
                 for path in (int8_path, float_path))


def _check_arguments(float_path, out_path, mode, calibration, calibration_data, score,
                     max_drop) -> np.ndarray | None:
    """Every argument checked before anything is written; the calibration array when static."""
    if mode not in MODES:
        raise UserInputError(f"quantization mode must be one of {', '.join(MODES)}; got {mode!r}")
    if calibration not in CALIBRATIONS:
        raise UserInputError(f"calibration must be one of {', '.join(CALIBRATIONS)}; "
                             f"got {calibration!r}")
    if not float_path.is_file():
        raise UserInputError(f"{float_path}: no such ONNX file")
    if out_path.resolve() == float_path.resolve():
        raise UserInputError(f"{out_path}: the int8 model must not overwrite the float model")
    if max_drop is not None and (isinstance(max_drop, bool) or not isinstance(max_drop, Real)
                                 or not np.isfinite(max_drop) or max_drop < 0):
        raise UserInputError(f"max_drop must be a number >= 0; got {max_drop!r}")
    if max_drop is not None and score is None:
        raise UserInputError("max_drop needs a score function to measure the drop")
    try:
        _, dims = model_input(float_path)
    except Exception as exc:  # onnx's DecodeError and friends
        raise UserInputError(f"{float_path}: not an ONNX model ({type(exc).__name__})") from None
    return check_calibration_data(calibration_data, dims) if mode == "static" else None


def _describe(mode: str, calibration: str, per_channel: bool, prepared: bool) -> str:
    weights = "per-channel" if per_channel else "per-tensor"
    text = (f"dynamic int8 ({weights} weights)" if mode == "dynamic"
            else f"static int8 QDQ ({weights} weights, {calibration} calibration)")
    return text if prepared else text + ", without ORT pre-processing (it failed on this graph)"


def _budget_note(excluded, candidates, drop, max_drop, within) -> str:
    kept = f"{len(excluded)} of {len(candidates)} weighted nodes kept in float"
    if excluded:
        kept += f" ({', '.join(excluded)})"
    if within:
        return f"{kept}; drop {drop:.4g} within max_drop {max_drop:g}"
    return f"{kept}; drop {drop:.4g} still exceeds max_drop {max_drop:g}: nothing left to exclude"


def _speed_note(latency: dict, float_latency: dict, faster: bool) -> str:
    pairs = ", ".join(f"{k} {latency[k]:.4g} vs {float_latency[k]:.4g} ms" for k in latency)
    if faster:
        return f"int8 faster than float ONNX ({pairs})"
    return f"int8 not faster than float ONNX on this machine ({pairs}): keep the float model"
