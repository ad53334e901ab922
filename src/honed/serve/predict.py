"""``honed predict``: a bundle's predictions for a file, written as CSV or JSON.

The input is read and checked in full before the model runs, and the output is written
atomically once every row is predicted, so a bad row means one error and no output file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from honed.errors import UserInputError

from .inputs import read_input

__all__ = ["predict_file", "PROGRESS_ROWS"]

#: inputs with at least this many rows show a progress bar (when progress is on)
PROGRESS_ROWS = 10_000
_CHUNK = 1024


def predict_file(bundle: str | Path, input: str | Path, out: str | Path | None = None, *,
                 progress: bool = True, threads: int | None = None, runtime=None
                 ) -> list[dict[str, Any]]:
    """Predict every row of ``input`` with the bundle and write the result.

    Args:
        bundle: Bundle folder (``model.onnx``, ``preprocess.json``, ``card.json``).
        input: CSV (also ``.csv.gz``, ``.csv.bz2``, ``.csv.xz``) or Parquet table, ``.npz``
            (array ``x``), or a folder of images; for a text model, a table with its text
            columns or a folder of ``.txt`` files.
        out: ``.csv`` or ``.json`` file to write; None writes CSV to standard output.
        progress: Show a progress bar on large inputs.
        threads: ONNX Runtime intra-op threads.
        runtime: An already loaded :class:`~honed.serve.runtime.Runtime` (skips loading).

    Returns:
        One record per row: ``row`` (or ``file``) then ``class`` and ``p_NAME`` columns, or
        ``value`` columns; for text also ``truncated`` (the text was longer than the model's
        ``max_length`` tokens and was cut, as in training).

    Raises:
        UserInputError: A bad bundle, input or output path (nothing is written).
    """
    from .runtime import load_runtime

    out = Path(out) if out is not None else None
    if out is not None and out.suffix.lower() not in (".csv", ".json"):
        raise UserInputError(f"--out must end in .csv or .json; got {out}")
    if out is not None and out.is_dir():
        raise UserInputError(f"--out {out} is a folder; give a .csv or .json file")
    runtime = runtime or load_runtime(bundle, threads=threads)
    batch = read_input(input, runtime.preprocess)
    x, cut = runtime.prepare_cut(batch.raw)  # every row checked before anything runs
    outputs = _run_chunks(runtime, x, progress=progress and len(x) >= PROGRESS_ROWS)
    predictions = runtime.convert(outputs)
    predictions.truncated = cut
    columns = predictions.columns()
    files = Path(input).is_dir() or Path(input).suffix.lower() == ".txt"  # one text file
    key = "file" if files else "row"
    ids: list[Any] = batch.ids if key == "file" else [int(i) for i in batch.ids]
    table = {key: ids, **columns}
    rows = [dict(zip(table, values, strict=True)) for values in zip(*table.values(),
                                                                     strict=True)]
    _write(rows, table, out)
    return rows


def _run_chunks(runtime, x: np.ndarray, *, progress: bool) -> np.ndarray:
    chunks = range(0, len(x), _CHUNK)
    if not progress:
        return np.concatenate([runtime.run(x[i:i + _CHUNK]) for i in chunks])
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    parts = []
    # on stderr: standard output may be the CSV itself
    with Progress("predicting", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("rows", total=len(x))
        for i in chunks:
            parts.append(runtime.run(x[i:i + _CHUNK]))
            bar.advance(task, len(parts[-1]))
    return np.concatenate(parts)


def _write(rows: list[dict[str, Any]], table: dict[str, list], out: Path | None) -> None:
    import pandas as pd

    from honed.io import atomic_write_text

    if out is not None and out.suffix.lower() == ".json":
        atomic_write_text(out, json.dumps(rows, indent=1) + "\n")
        return
    text = pd.DataFrame(table).to_csv(index=False, float_format="%.6g")
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(out, text)
