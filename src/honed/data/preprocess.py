"""Fitting the preprocessing on the training rows, as a JSON-ready dict.

The dict is the complete recipe that :func:`honed.data.transform.apply_preprocess` follows;
it is saved as ``model/preprocess.json`` and travels in the export bundle. Its keys:

``format``, ``version``
    ``"honed.preprocess"`` and ``1``.
``source``, ``kind``, ``task``, ``input_shape``
    The spec's source string; ``table`` / ``image`` / ``sequence``; the task; the shape of
    one model input.
``target``, ``class_names``, ``feature_names``, ``target_scale``
    Target column; class names by code; names of the model's input columns (tables) or
    channels (series); ``{"mean": [...], "std": [...]}`` per output, or ``None``.
``columns`` (tables)
    One entry per input column, in order: ``name``, ``type`` (``numeric`` / ``categorical``),
    ``dtype`` as read, ``impute`` (fill value, ``None`` when rows with gaps were dropped),
    ``clip`` (``[low, high]`` or ``None``), ``encoding`` and ``categories`` (categorical),
    ``outputs`` (the model columns it becomes).
``clean`` (tables)
    The cleaning settings the entries were fitted with.
``pixel_scale`` (images, sequences)
    Raw values are divided by it first (255 for 8-bit images).
``image`` (image files)
    ``mode`` (Pillow's) and ``size`` ``[width, height]`` of the model's images, ``files`` read;
    with ``data.image`` also ``transform`` (``{"size": [height, width], "mode", "resize"}``:
    the settings of :func:`honed.data.image_transform.transform_image`, which every input
    file then goes through); with ``data.skip_bad`` also ``skipped`` (``count`` and the
    first errors).
``scaler``
    ``{"method", "center", "scale"}``, one value per model column (tables) or channel.
``window`` (forecasting)
    ``lookback``, ``horizon``, ``columns`` (channels in order), ``target``.
``text`` (text)
    ``columns`` (joined with ``separator`` into one text per row), ``max_length``, ``pad_id``
    (0), ``vocab_size``, ``tokenizer`` (the ``data.tokenizer`` settings), ``train_texts`` and
    ``train_truncated`` (training texts longer than ``max_length``, cut); ``lengths``, per
    split, the token lengths before the cut (:func:`honed.data.text_stats.length_stats`:
    counts of texts, cut and empty ones, quantiles, a histogram), for the report.
``tabular`` (text beside table columns)
    The table columns' recipe (``columns``, ``clean``, ``scaler``, ``feature_names``, as for
    a table) and ``offset``: a model input is ``[ids (offset) | features]`` in float32
    (:mod:`honed.data.mixed`); ``input_shape`` is ``[max_length + len(feature_names)]``.
``tokenizer`` (text)
    The fitted Hugging Face tokenizer's JSON, as a string; :func:`save_preprocess` also
    writes it beside ``preprocess.json`` as ``tokenizer.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from honed.io import atomic_write_json, atomic_write_text
from honed.spec.schema import DataSpec

from .clean import fit_columns
from .raw import RawData
from .scaling import fit_scaler, fit_scaler_chunks
from .streaming import row_chunks
from .table_fit import fit_table_columns, table_recipe, table_skip
from .text import fit_text
from .transform import table_matrix

__all__ = ["fit_preprocess", "raw_rows", "save_preprocess", "TOKENIZER_FILE"]

TOKENIZER_FILE = "tokenizer.json"


def raw_rows(raw: RawData, rows: np.ndarray):
    """The raw inputs of the given rows (a DataFrame for tables, an array otherwise)."""
    if raw.kind in ("table", "series", "text"):
        return raw.x.iloc[rows]
    return raw.x[rows]


def fit_preprocess(raw: RawData, train_rows: np.ndarray, spec: DataSpec, *, task: str,
                   class_names: list[str] | None, target_scale: dict | None) -> dict:
    """Fit cleaning and scaling on ``train_rows`` of ``raw`` (never on other rows)."""
    common = {"format": "honed.preprocess", "version": 1, "source": spec.source,
              "kind": raw.kind, "task": task, "target": raw.target,
              "class_names": class_names, "target_scale": target_scale}
    if raw.kind == "text" or (raw.kind == "table" and not raw.stream):
        train = raw_rows(raw, train_rows)
    if raw.kind == "text":
        text = fit_text(train, spec.tokenizer, raw.extra["text_columns"])
        width = spec.tokenizer.max_length
        if raw.extra.get("table_columns"):  # text beside table columns (honed.data.mixed)
            tabular = _fit_table(train[raw.extra["table_columns"]], spec,
                                 raw.extra.get("dtypes"), {})
            del tabular["input_shape"]  # the mixed input's width is the text's plus these
            text["tabular"] = {**tabular, "offset": width}
            width += len(tabular["feature_names"])
        return {**common, **text, "feature_names": None,
                "input_shape": [width], "scaler": {"method": "none"}}
    if raw.kind == "table" and raw.stream:
        return fit_table_columns(raw, train_rows, spec, common)
    if raw.kind == "table":
        return _fit_table(train, spec, raw.extra.get("dtypes"), common)
    # chunk by chunk, so that a streamed source (never whole in memory) fits the same numbers
    def chunks():
        for rows in row_chunks(train_rows, int(np.prod(raw.x.shape[1:]))):
            yield np.asarray(raw.x[rows], dtype=np.float64) / raw.pixel_scale

    axis = 1 if raw.kind == "image" else -1
    return {**common, "feature_names": None, "input_shape": list(raw.x.shape[1:]),
            "pixel_scale": float(raw.pixel_scale), **raw.extra,
            "scaler": fit_scaler_chunks(spec.scale, chunks, axis=axis)}


def _fit_table(train, spec: DataSpec, dtypes: dict | None, common: dict) -> dict:
    """The recipe of table columns (``columns``, ``clean``, ``scaler``, ``feature_names``,
    ``input_shape``) after the ``common`` keys, fitted on the training rows in memory."""
    clean = spec.clean
    columns = fit_columns(train, impute=clean.impute, clip=clean.clip,
                          clip_factor=clean.clip_factor, encoding=clean.encoding,
                          max_categories=clean.max_categories, dtypes=dtypes)
    matrix = table_matrix({"columns": columns}, train)
    skip = table_skip(columns)
    return table_recipe(common, columns, spec,
                        fit_scaler(spec.scale, matrix.reshape(-1, skip.size), skip=skip))


def save_preprocess(folder: str | Path, preprocess: dict) -> None:
    """Write ``folder/preprocess.json``, and for text ``folder/tokenizer.json`` beside it.

    ``preprocess.json`` stays complete on its own (it holds the tokenizer too); the separate
    ``tokenizer.json`` is the same tokenizer in the file that Hugging Face tools open.
    """
    folder = Path(folder)
    if preprocess.get("kind") == "text":
        atomic_write_text(folder / TOKENIZER_FILE, preprocess["tokenizer"])
    atomic_write_json(folder / "preprocess.json", preprocess)
