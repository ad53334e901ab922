"""Calibration for static int8: checked sample arrays fed to ONNX Runtime in batches.

Static quantization fixes every activation's int8 range before deployment, from the ranges the
float model shows on calibration samples: training examples already preprocessed like the
model's inputs (never validation or test data, which stay untouched for scoring).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from honed.errors import UserInputError

__all__ = ["CALIBRATIONS", "MAX_SAMPLES", "check_calibration_data", "calibration_method",
           "calibration_rows", "array_reader", "model_input"]

#: calibration= choices, with what ONNX Runtime calls them.
CALIBRATIONS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}
#: At most this many samples calibrate (evenly spaced over the array): ranges settle long before.
MAX_SAMPLES = 512
_BATCH = 64


def model_input(path: str | Path) -> tuple[str, list[int | str | None]]:
    """Name and shape (ints, symbolic names or None) of the first input of an ONNX file."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    initializers = {init.name for init in model.graph.initializer}
    first = next(i for i in model.graph.input if i.name not in initializers)
    dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in first.type.tensor_type.shape.dim]
    return first.name, dims


def check_calibration_data(data: object, input_shape: list[int | str | None]) -> np.ndarray:
    """``data`` as a float32 array shaped ``[n, *input_shape[1:]]``, or a one-line error.

    Args:
        data: calibration samples (training examples, preprocessed).
        input_shape: the model input's dims, batch first (symbolic dims match anything).

    Raises:
        UserInputError: no data, an empty or non-numeric array, a shape that does not fit the
            model, or values that are not finite.
    """
    if data is None:
        raise UserInputError("static quantization needs calibration data (training samples); "
                             "got none: pass calibration_data= or use mode='dynamic'")
    array = np.asarray(data)
    if array.dtype.kind not in "fiub" or array.ndim < 1 or len(array) == 0:
        raise UserInputError(f"calibration data must be a non-empty numeric array; got "
                             f"dtype {array.dtype}, shape {list(array.shape)}")
    expected = list(input_shape[1:])
    fits = not input_shape or array.ndim == len(input_shape) and all(
        not isinstance(want, int) or want in (0, got)  # a symbolic dim fits anything
        for want, got in zip(expected, array.shape[1:], strict=True))
    if not fits:
        raise UserInputError(f"calibration data has shape {list(array.shape)}; the model takes "
                             f"[batch, {', '.join(str(d) for d in expected)}]")
    array = array.astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise UserInputError("calibration data holds NaN or infinite values")
    return array


def calibration_method(name: str):
    """ONNX Runtime's ``CalibrationMethod`` for ``minmax``, ``entropy`` or ``percentile``."""
    from onnxruntime.quantization import CalibrationMethod

    if name not in CALIBRATIONS:
        raise UserInputError(f"calibration must be one of {', '.join(CALIBRATIONS)}; got {name!r}")
    return getattr(CalibrationMethod, CALIBRATIONS[name])


def calibration_rows(data: np.ndarray, max_samples: int = MAX_SAMPLES) -> np.ndarray:
    """The rows that calibrate: at most ``max_samples``, evenly spaced, in equal batches.

    Evenly spaced rows still cover every class of a class-sorted array. The last rows that do
    not fill a batch of 64 are left out: the histogram calibrators stack every batch's values
    into one array, which needs batches of one size.
    """
    if int(max_samples) < 1:
        raise UserInputError(f"calibration samples must be a positive integer; got {max_samples}")
    if len(data) > max_samples:
        data = data[np.linspace(0, len(data) - 1, int(max_samples)).round().astype(int)]
    batch = min(_BATCH, len(data))
    return data[:len(data) - len(data) % batch]


def array_reader(data: np.ndarray, input_name: str):
    """A ``CalibrationDataReader`` over the rows of ``data`` (see :func:`calibration_rows`),
    64 at a time."""
    from onnxruntime.quantization import CalibrationDataReader

    batch = min(_BATCH, len(data))

    class _ArrayReader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = [data[i:i + batch] for i in range(0, len(data), batch)]
            self._next = 0

        def get_next(self) -> dict | None:
            if self._next >= len(self._batches):
                return None
            self._next += 1
            return {input_name: np.ascontiguousarray(self._batches[self._next - 1])}

        def __len__(self) -> int:
            return len(self._batches)

        def rewind(self) -> None:
            self._next = 0

    return _ArrayReader()
