"""``prepare_data`` and ``prepare_folds``: a data spec in, splits ready for a model out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from honed.errors import DataError
from honed.spec.schema import DataSpec

from .dataset import PreparedData, Split
from .mixed import with_tabular
from .preprocess import fit_preprocess, raw_rows
from .raw import RawData
from .sources import load_source
from .split import kfold_indices, limit_indices, split_indices
from .streaming import LazyInputs
from .targets import encode_classes, fit_target_scale, regression_targets, resolve_task
from .text import text_ids_and_lengths
from .text_stats import length_stats
from .timeseries import prepare_forecast
from .transform import apply_preprocess

__all__ = ["prepare_data", "prepare_folds"]


def prepare_data(spec: DataSpec, *, seed: int, base_dir: str | Path | None = None) -> PreparedData:
    """Read, clean, split and scale the data a spec describes.

    Every statistic (imputation values, clip bounds, categories, scaler, target scale) is fitted
    on the training split only. The same spec and seed give the same result.

    Args:
        spec: The ``data`` section of a spec.
        seed: Seed of the row limit and the split.
        base_dir: Folder that a relative ``spec.source`` is read from (the spec file's).

    Returns:
        Train, val and test splits plus the fitted ``preprocess`` recipe.

    Raises:
        DataError: The source cannot be read or does not fit the spec (one line, naming the
            file, column and row where that applies).

    Example:
        >>> from honed.spec.schema import DataSpec
        >>> data = prepare_data(DataSpec(source="builtin:iris"), seed=0)
        >>> data.train.x.shape[1], data.num_classes
        (4, 3)
    """
    raw, task = _load(spec, base_dir)
    if raw.kind == "series":
        return _forecast(raw, spec)
    plan = _plan(raw, task, spec, seed)
    strata = plan.strata
    train, val, test = split_indices(
        strata, len(plan.rows), val=spec.split.val, test=spec.split.test, seed=seed,
        stratify=strata is not None, shuffle=spec.split.shuffle and task != "forecasting")
    return _assemble(raw, plan, spec, plan.rows[train], plan.rows[val], plan.rows[test])


def prepare_folds(spec: DataSpec, *, seed: int, k: int,
                  base_dir: str | Path | None = None) -> list[PreparedData]:
    """``k`` folds over train + val, each refitted on its own training part.

    The test split is the one :func:`prepare_data` makes with the same spec and seed, in every
    fold, untouched. Forecasting folds are rolling origins in time order: fold ``i`` trains on
    the first ``i + 1`` of ``k + 1`` blocks of the train+val span and validates on the next.

    Raises:
        DataError: As :func:`prepare_data`, or too few rows for ``k`` folds.
    """
    if k < 2:
        raise DataError(f"k-fold needs k >= 2; got {k}")
    raw, task = _load(spec, base_dir)
    if raw.kind == "series":
        return _forecast_folds(raw, spec, k)
    plan = _plan(raw, task, spec, seed)
    strata = plan.strata
    ordered = not spec.split.shuffle or task == "forecasting"
    rest, _, test = split_indices(strata, len(plan.rows), val=0.0, test=spec.split.test,
                                  seed=seed, stratify=strata is not None, shuffle=not ordered)
    if ordered:
        folds = _rolling_folds(len(rest), k)
    else:
        folds = kfold_indices(None if strata is None else strata[rest], k, seed=seed,
                              stratify=strata is not None, n=len(rest))
    return [_assemble(raw, plan, spec, plan.rows[rest[tr]], plan.rows[rest[va]],
                      plan.rows[test]) for tr, va in folds]


@dataclass
class _Plan:
    rows: np.ndarray  # source rows in play, after dropping gaps and the row limit
    targets: np.ndarray  # class codes, or float (N, K), for every source row
    class_names: list[str] | None
    strata: np.ndarray | None  # codes of `rows` to stratify by, or None
    task: str


def _load(spec: DataSpec, base_dir: str | Path | None) -> tuple[RawData, str]:
    raw = load_source(spec, base_dir=base_dir)
    task = resolve_task(raw, spec.task)
    if task == "forecasting" and raw.kind == "table":
        raise DataError(f"{raw.origin}: forecasting reads a series from a CSV or Parquet table "
                        "(data.target names the column) or windows (N, T, C) from an .npz; "
                        "this source is a 2-D table of samples")
    return raw, task


def _plan(raw: RawData, task: str, spec: DataSpec, seed: int) -> _Plan:
    rows = np.arange(len(raw))
    table = (raw.x if raw.kind == "table"
             else raw.x[raw.extra["table_columns"]] if raw.extra.get("table_columns") else None)
    if table is not None and spec.clean.impute == "drop":
        complete = (table.complete_rows() if raw.stream
                    else table.notna().all(axis=1).to_numpy())
        rows = rows[complete]
        if rows.size == 0:
            raise DataError(f"{raw.origin}: every row has a missing value, so "
                            "data.clean.impute: drop leaves nothing")
    if task == "classification":
        targets, class_names = encode_classes(raw)
    else:
        targets, class_names = regression_targets(raw), None
    stratify = task == "classification" and spec.split.stratify
    if spec.limit is not None:
        keep = limit_indices(targets[rows] if stratify else None, len(rows), spec.limit,
                             seed=seed, stratify=stratify)
        rows = rows[keep]
    strata = targets[rows] if stratify else None
    return _Plan(rows, targets, class_names, strata, task)


def _assemble(raw: RawData, plan: _Plan, spec: DataSpec, train: np.ndarray, val: np.ndarray,
              test: np.ndarray) -> PreparedData:
    target_scale = None
    if plan.task != "classification" and spec.scale_target:
        target_scale = fit_target_scale(plan.targets[train])
    preprocess = fit_preprocess(raw, train, spec, task=plan.task, class_names=plan.class_names,
                                target_scale=target_scale)

    lengths: dict[str, dict] = {}

    def make(rows: np.ndarray, split: str) -> Split:
        if raw.stream:
            x = LazyInputs(raw.x, rows, preprocess, workers=spec.workers, prefetch=spec.prefetch)
        elif raw.kind == "text":  # tokenized once: the ids, and the lengths the report draws
            x, counts = text_ids_and_lengths(preprocess, raw_rows(raw, rows))
            x = with_tabular(preprocess, x, raw_rows(raw, rows))
            lengths[split] = length_stats(counts, preprocess["text"]["max_length"])
        else:
            x = apply_preprocess(preprocess, raw_rows(raw, rows))
        y = plan.targets[rows]
        if plan.task == "classification":
            return Split(x, y.astype(np.int64), index=rows)
        if target_scale is not None:
            y = (y - np.asarray(target_scale["mean"])) / np.asarray(target_scale["std"])
        return Split(x, y.astype(np.float32), index=rows)

    num_outputs = len(plan.class_names) if plan.class_names else plan.targets.shape[1]
    splits = {name: make(rows, name) for name, rows in
              (("train", train), ("val", val), ("test", test))}
    if lengths:
        preprocess["text"]["lengths"] = lengths
    return PreparedData(
        **splits, task=plan.task, kind=raw.kind,
        input_shape=tuple(preprocess["input_shape"]), num_outputs=num_outputs,
        class_names=plan.class_names, feature_names=preprocess["feature_names"],
        target_scale=(target_scale["mean"], target_scale["std"]) if target_scale else None,
        preprocess=preprocess, source=spec.source)


def _forecast(raw: RawData, spec: DataSpec, bounds: tuple[int, int] | None = None
              ) -> PreparedData:
    return prepare_forecast(raw, lookback=spec.window.lookback, horizon=spec.window.horizon,
                            val=spec.split.val, test=spec.split.test, scale=spec.scale,
                            scale_target=spec.scale_target, limit=spec.limit, bounds=bounds,
                            source=spec.source)


def _forecast_folds(raw: RawData, spec: DataSpec, k: int) -> list[PreparedData]:
    reference = _forecast(raw, spec)
    # The span from the first kept step (after the row limit) to the first test target, cut
    # into k + 1 blocks.
    start = int(reference.train.index[0]) - spec.window.lookback
    end = int(reference.test.index[0]) if len(reference.test) else len(raw)
    span = end - start
    return [_forecast(raw, spec, bounds=(start + span * (i + 1) // (k + 1),
                                         start + span * (i + 2) // (k + 1)))
            for i in range(k)]


def _rolling_folds(n: int, k: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Time-ordered folds: train on a prefix, validate on the block after it."""
    if n < k + 1:
        raise DataError(f"too few rows for {k} time-ordered folds: {n}")
    cuts = [n * i // (k + 1) for i in range(k + 2)]
    rows = np.arange(n)
    return [(rows[: cuts[i + 1]], rows[cuts[i + 1]: cuts[i + 2]]) for i in range(k)]
