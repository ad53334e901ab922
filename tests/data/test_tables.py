"""CSV and Parquet tables: types, cleaning fitted on train only, encodings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from honed.data import apply_preprocess, prepare_data
from honed.errors import DataError

from .conftest import mixed_table, spec


def columns_of(data):
    return {c["name"]: c for c in data.preprocess["columns"]}


def test_mixed_csv_prepares(table_csv):
    data = prepare_data(spec(table_csv.name, target="label"), seed=0, base_dir=table_csv.parent)
    assert data.task == "classification" and data.kind == "table"
    assert data.class_names == ["cat", "dog", "emu"]  # text labels, sorted
    assert data.feature_names == ["age", "income", "color=blue", "color=green", "color=red",
                                  "flag"]
    assert data.input_shape == (6,) and data.num_outputs == 3
    assert len(data.train) + len(data.val) + len(data.test) == 200
    assert not np.isnan(data.train.x).any() and not np.isnan(data.test.x).any()
    cols = columns_of(data)
    assert cols["age"]["type"] == "numeric" and cols["color"]["type"] == "categorical"
    assert cols["flag"]["clip"] is None  # 0/1 columns are never clipped
    onehot = data.train.x[:, 2:5]
    assert set(np.unique(onehot)) <= {0.0, 1.0}  # one-hot columns are not scaled


def test_cleaning_is_fitted_on_train_rows_only(tmp_path):
    frame = mixed_table()
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    first = prepare_data(spec(path, target="label"), seed=4)
    train_rows = frame.iloc[first.train.index]
    cols = columns_of(first)
    age = train_rows["age"].dropna().to_numpy()
    q1, q3 = np.percentile(age, [25, 75])
    assert cols["age"]["clip"] == pytest.approx([q1 - 3 * (q3 - q1), q3 + 3 * (q3 - q1)])
    assert cols["age"]["impute"] == pytest.approx(np.median(age))
    assert cols["color"]["impute"] == train_rows["color"].mode()[0]
    # the outliers are clipped to the training bounds
    low, high = cols["income"]["clip"]
    assert low > -1e9 and high < 1e9

    # Change only val and test rows: a new category, a huge value, more gaps. Nothing fitted
    # may move, and the training inputs must stay identical.
    held_out = np.concatenate([first.test.index, first.val.index])
    frame.loc[held_out[:5], "color"] = "purple"
    frame.loc[held_out[5:10], "age"] = 1e6
    frame.loc[held_out[10:15], "income"] = np.nan
    frame.to_csv(path, index=False)
    second = prepare_data(spec(path, target="label"), seed=4)
    assert second.preprocess == first.preprocess
    np.testing.assert_array_equal(second.train.x, first.train.x)
    np.testing.assert_array_equal(second.train.index, first.train.index)
    # the unseen category is all zeros, the huge age is clipped to the train bound
    rows = {int(r): i for i, r in enumerate(second.test.index)}
    purple = [rows[r] for r in held_out[:5] if r in rows]
    assert purple and (second.test.x[purple, 2:5] == 0).all()
    big = [rows[r] for r in held_out[5:10] if r in rows]
    clipped = (cols["age"]["clip"][1] - first.preprocess["scaler"]["center"][0]) / \
        first.preprocess["scaler"]["scale"][0]
    np.testing.assert_allclose(second.test.x[big, 0], clipped, rtol=1e-6)


@pytest.mark.parametrize("impute", ["mean", "median", "most_frequent"])
def test_impute_strategies(tmp_path, impute):
    frame = pd.DataFrame({"a": [1.0, 2.0, 2.0, 10.0, np.nan] * 8, "y": [0, 1] * 20})
    frame.to_csv(tmp_path / "t.csv", index=False)
    data = prepare_data(spec(tmp_path / "t.csv", target="y", clean={"impute": impute,
                                                                     "clip": "none"},
                             split={"val": 0.0, "test": 0.0}), seed=0)
    fill = columns_of(data)["a"]["impute"]
    assert fill == {"mean": 3.75, "median": 2.0, "most_frequent": 2.0}[impute]


def test_impute_drop_drops_rows(tmp_path):
    frame = mixed_table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    data = prepare_data(spec(tmp_path / "t.csv", target="label", clean={"impute": "drop"}),
                        seed=0)
    used = np.concatenate([data.train.index, data.val.index, data.test.index])
    assert len(used) == 200 - 5 and not {3, 5, 7, 10, 50} & set(used.tolist())
    assert columns_of(data)["age"]["impute"] is None
    with pytest.raises(DataError, match="column .age. row 1 has no value"):
        apply_preprocess(data.preprocess, frame.iloc[[3]])


@pytest.mark.parametrize("method,expected", [
    ("iqr", None), ("zscore", None), ("quantile", None), ("none", None)])
def test_clip_methods(tmp_path, method, expected):
    values = np.r_[np.arange(99, dtype=float), 1000.0]
    frame = pd.DataFrame({"a": values, "y": np.arange(100) % 2})
    frame.to_csv(tmp_path / "t.csv", index=False)
    data = prepare_data(spec(tmp_path / "t.csv", target="y", scale="none",
                             clean={"clip": method, "clip_factor": 2.0},
                             split={"val": 0.0, "test": 0.0}), seed=0)
    bounds = columns_of(data)["a"]["clip"]
    if method == "none":
        assert bounds is None and data.train.x.max() == 1000
        return
    want = {
        "iqr": [np.percentile(values, 25) - 2 * np.subtract(*np.percentile(values, [75, 25])),
                np.percentile(values, 75) + 2 * np.subtract(*np.percentile(values, [75, 25]))],
        "zscore": [values.mean() - 2 * values.std(), values.mean() + 2 * values.std()],
        "quantile": list(np.quantile(values, [0.02, 0.98])),
    }[method]
    assert bounds == pytest.approx(want)
    assert data.train.x.max() == pytest.approx(min(want[1], 1000), rel=1e-6)


@pytest.mark.parametrize("values,clipped", [
    ([0.0] * 95 + [100.0] * 5, False),  # two values: an indicator, never clipped
    ([7.0] * 100, False),  # one value
    ([0.0] * 90 + [1.0] * 5 + [100.0] * 5, True),  # a third value makes 100 an outlier
])
def test_columns_of_at_most_two_values_are_not_clipped(tmp_path, values, clipped):
    frame = pd.DataFrame({"a": values, "y": np.arange(100) % 2})
    frame.to_csv(tmp_path / "t.csv", index=False)
    data = prepare_data(spec(tmp_path / "t.csv", target="y", scale="none",
                             clean={"clip": "zscore", "clip_factor": 2.0},
                             split={"val": 0.0, "test": 0.0}), seed=0)
    bounds = columns_of(data)["a"]["clip"]
    assert (bounds is not None) == clipped
    assert (data.train.x.max() < max(values)) == clipped


def test_ordinal_encoding_and_unseen(tmp_path):
    frame = pd.DataFrame({"size": ["s", "m", "l", "m"] * 10, "y": [0, 1] * 20})
    frame.to_csv(tmp_path / "t.csv", index=False)
    data = prepare_data(spec(tmp_path / "t.csv", target="y", clean={"encoding": "ordinal"}),
                        seed=0)
    assert data.feature_names == ["size"]
    assert columns_of(data)["size"]["categories"] == ["l", "m", "s"]
    x = apply_preprocess(data.preprocess, pd.DataFrame({"size": ["s", "xl", None]}))
    assert x[:, 0].tolist() == [2.0, -1.0, 1.0]  # unseen -> -1, missing -> most frequent


def test_max_categories_keeps_the_most_frequent(tmp_path):
    frame = pd.DataFrame({"c": ["a"] * 20 + ["b"] * 12 + ["c"] * 6 + ["d"] * 2,
                          "y": [0, 1] * 20})
    frame.to_csv(tmp_path / "t.csv", index=False)
    data = prepare_data(spec(tmp_path / "t.csv", target="y", clean={"max_categories": 2},
                             split={"val": 0.0, "test": 0.0}), seed=0)
    assert data.feature_names == ["c=a", "c=b"]


def test_parquet_matches_csv(tmp_path):
    frame = mixed_table(n=120)
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    from_csv = prepare_data(spec(tmp_path / "t.csv", target="label"), seed=2)
    from_parquet = prepare_data(spec(tmp_path / "t.parquet", target="label"), seed=2)
    np.testing.assert_allclose(from_parquet.train.x, from_csv.train.x, rtol=1e-6)
    np.testing.assert_array_equal(from_parquet.test.y, from_csv.test.y)
    assert from_parquet.feature_names == from_csv.feature_names


def test_regression_table_and_features(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=100), "b": rng.normal(size=100),
                          "noise": rng.normal(size=100)})
    frame["price"] = 3 * frame["a"] + 100.0 + rng.normal(0, 0.1, 100)
    frame.to_csv(tmp_path / "t.csv", index=False)
    data = prepare_data(spec("t.csv", target="price", features=["a", "b"]), seed=0,
                        base_dir=tmp_path)
    assert data.task == "regression" and data.feature_names == ["a", "b"]
    assert data.train.y.shape == (len(data.train), 1) and data.train.y.dtype == np.float32
    mean, std = data.target_scale
    raw_train = frame["price"].to_numpy()[data.train.index]
    assert mean == pytest.approx([raw_train.mean()]) and std == pytest.approx([raw_train.std()])
    assert abs(float(data.train.y.mean())) < 1e-5


def test_integer_labels_with_few_values_are_classes(tmp_path):
    frame = pd.DataFrame({"a": np.arange(60.0), "grade": [3, 1, 2] * 20,
                          "count": np.arange(60) * 7})
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert prepare_data(spec(tmp_path / "t.csv", target="grade"), seed=0).class_names == [
        "1", "2", "3"]
    assert prepare_data(spec(tmp_path / "t.csv", target="count"), seed=0).task == "regression"
