"""A Parquet table streamed by row groups fits the in-memory recipe to the last bit, trains
bit-identically (DataLoader workers included), resumes exactly, and refuses what it cannot do
in one line."""

from __future__ import annotations

import multiprocessing
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from honed.data import prepare_data
from honed.data.parquet_rows import ParquetRows
from honed.data.scaling import fit_scaler, fit_scaler_columns
from honed.data.streaming import LazyInputs
from honed.errors import DataError
from honed.spec.schema import DataSpec
from honed.train import fit
from tests.train.test_streaming import SETTINGS, curve, same_weights, weights


def write_table(path, rows: int = 2000, row_group_size: int = 100):
    """Numbers (some missing, some outliers), a category column with spaces and gaps."""
    rng = np.random.default_rng(0)
    a = rng.normal(3, 50, rows)
    a[rng.random(rows) < 0.05] = np.nan
    a[:7] = 1e4  # clipped by the IQR rule
    frame = pd.DataFrame({"a": a, "count": rng.integers(0, 9, rows),
                          "colour": rng.choice(["red", "green", " blue", None], rows),
                          "d": rng.exponential(size=rows)})
    frame["label"] = np.where(frame["d"] + (frame["colour"] == "red") > 1.2, "yes", "no")
    frame.to_parquet(path, row_group_size=row_group_size)
    return path


def both(path, **data):
    memory = prepare_data(DataSpec(source=str(path), target="label", stream=False, **data),
                          seed=0)
    streamed = prepare_data(DataSpec(source=str(path), target="label", stream=True, **data),
                            seed=0)
    return memory, streamed


def tiny_mlp(width: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(width, 8), nn.ReLU(), nn.Dropout(0.1), nn.Linear(8, 2))


@pytest.mark.parametrize("clean, scale", [
    ({}, "standard"),
    ({"impute": "drop", "encoding": "ordinal", "clip": "quantile", "clip_factor": 5}, "minmax"),
    ({"impute": "mean", "clip": "zscore"}, "standard"),
])
def test_the_streamed_recipe_and_inputs_are_the_in_memory_ones(tmp_path, clean, scale):
    memory, streamed = both(write_table(tmp_path / "t.parquet"), clean=clean, scale=scale,
                            workers=0)
    assert isinstance(streamed.train.x, LazyInputs) and isinstance(memory.train.x, np.ndarray)
    source = streamed.train.x.source
    assert isinstance(source, ParquetRows) and len(source.starts) - 1 == 20  # row groups
    assert memory.preprocess == streamed.preprocess
    for split in ("train", "val", "test"):
        a, b = getattr(memory, split), getattr(streamed, split)
        assert np.array_equal(a.index, b.index) and np.array_equal(a.y, b.y)
        assert np.asarray(b.x).tobytes() == a.x.tobytes()


def test_the_column_by_column_scaler_sums_as_the_whole_matrix():
    rng = np.random.default_rng(1)
    for rows, width in ((5, 1), (3000, 1), (3000, 2), (20000, 9)):
        matrix = rng.normal(size=(rows, width)) * rng.uniform(1, 1e3, width) + 1e4
        skip = np.arange(width) % 4 == 3
        for method in ("standard", "minmax"):
            columns = (None if skip[j] else matrix[:, j].copy() for j in range(width))
            assert fit_scaler_columns(method, columns, width=width, skip=skip) == \
                fit_scaler(method, matrix, skip=skip)


def test_a_streamed_table_trains_bit_identically_with_workers(tmp_path):
    memory, streamed = both(write_table(tmp_path / "t.parquet"), workers=2)
    runs = []
    for data in (memory, streamed):
        model = tiny_mlp(data.input_shape[0])
        result = fit(model, data, epochs=2, **SETTINGS)
        runs.append((curve(result.history), weights(model)))
        assert multiprocessing.active_children() == []  # the fit stopped its workers
    assert runs[0][0] == runs[1][0]
    assert same_weights(runs[0][1], runs[1][1])


def test_a_streamed_table_resumes_exactly(tmp_path):
    _, data = both(write_table(tmp_path / "t.parquet", rows=600), workers=1)
    width = data.input_shape[0]
    whole_model = tiny_mlp(width)
    whole = fit(whole_model, data, epochs=2, out_dir=tmp_path / "whole", **SETTINGS)
    fit(tiny_mlp(width), data, epochs=1, out_dir=tmp_path / "cut", **SETTINGS)
    torch.manual_seed(99)
    resumed_model = tiny_mlp(width, seed=5)
    resumed = fit(resumed_model, data, epochs=2, out_dir=tmp_path / "cut", resume=True,
                  **SETTINGS)
    assert curve(resumed.history) == curve(whole.history)
    assert same_weights(weights(resumed_model), weights(whole_model))


def test_a_worker_gets_the_file_name_not_the_rows(tmp_path):
    _, data = both(write_table(tmp_path / "t.parquet"), workers=0)
    rows = data.train.x
    rows[:50]  # decodes (and caches) row groups here
    assert rows.source._groups
    blob = pickle.dumps(rows)
    assert len(blob) < 64 * 1024  # the split's row numbers, the recipe and the file name
    copy = pickle.loads(blob)
    assert not copy.source._groups
    assert np.array_equal(copy[[5, 1999 % len(rows), 0]], rows[[5, 1999 % len(rows), 0]])


def test_the_row_group_cache_stays_within_its_bytes(tmp_path):
    path = write_table(tmp_path / "t.parquet")
    table = ParquetRows(path, ["a", "count", "d"], text=[], cache_bytes=100 * 3 * 8 * 2)
    rows = np.random.default_rng(0).permutation(2000)[:300]
    frame = table[rows]
    assert len(table._groups) == 2
    expected = pd.read_parquet(path).iloc[rows]
    assert np.array_equal(frame["d"].to_numpy(), expected["d"].to_numpy())
    assert np.array_equal(frame["count"].to_numpy(), expected["count"].to_numpy(np.float64))


def test_auto_keeps_a_small_table_in_memory(tmp_path):
    data = prepare_data(DataSpec(source=str(write_table(tmp_path / "t.parquet", rows=200)),
                                 target="label"), seed=0)
    assert isinstance(data.train.x, np.ndarray)


def test_what_cannot_stream_says_why_in_one_line(tmp_path):
    path = write_table(tmp_path / "t.parquet", rows=200)
    pd.read_parquet(path).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="a CSV has no row groups.*convert it to Parquet"):
        prepare_data(DataSpec(source=str(tmp_path / "t.csv"), target="label", stream=True),
                     seed=0)
    with pytest.raises(DataError, match="holds text columns \\(data.text\\)"):
        prepare_data(DataSpec(source=str(path), target="label", text=["colour"], stream=True),
                     seed=0)
    words = pd.read_parquet(path)
    words["note"] = [f"note number {i} says something else" for i in range(len(words))]
    words.to_parquet(tmp_path / "notes.parquet", row_group_size=50)
    with pytest.raises(DataError, match="column 'note' holds free text"):
        prepare_data(DataSpec(source=str(tmp_path / "notes.parquet"), target="label",
                              stream=True), seed=0)
    with pytest.raises(DataError, match="no column 'nope' \\(data.target\\)"):
        prepare_data(DataSpec(source=str(path), target="nope", stream=True), seed=0)
