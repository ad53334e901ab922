"""Splits: fractions, stratification, seeds, limits and folds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from honed.data import kfold_indices, prepare_data, prepare_folds
from honed.data.split import limit_indices, split_indices
from honed.errors import DataError

from .conftest import spec


def labels(counts):
    return np.repeat(np.arange(len(counts)), counts)


def test_fractions_and_stratification():
    y = np.random.default_rng(0).permutation(labels([500, 300, 200]))
    train, val, test = split_indices(y, len(y), val=0.2, test=0.1, seed=5)
    assert (len(train), len(val), len(test)) == (700, 200, 100)
    assert np.bincount(y[test]).tolist() == [50, 30, 20]
    assert np.bincount(y[val]).tolist() == [100, 60, 40]
    everything = np.concatenate([train, val, test])
    assert np.array_equal(np.sort(everything), np.arange(1000))


def test_seed_reproducibility():
    y = labels([40, 60])
    first = split_indices(y, 100, val=0.2, test=0.2, seed=1)
    again = split_indices(y, 100, val=0.2, test=0.2, seed=1)
    other = split_indices(y, 100, val=0.2, test=0.2, seed=2)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[2], other[2])


def test_test_split_does_not_depend_on_val_fraction():
    y = labels([40, 60])
    _, _, test_a = split_indices(y, 100, val=0.1, test=0.2, seed=3)
    _, _, test_b = split_indices(y, 100, val=0.3, test=0.2, seed=3)
    assert np.array_equal(test_a, test_b)


def test_rare_class_stays_in_training():
    y = labels([50, 1])
    train, val, test = split_indices(y, 51, val=0.3, test=0.3, seed=0)
    assert 50 in train


def test_unshuffled_split_keeps_order():
    train, val, test = split_indices(None, 10, val=0.2, test=0.2, seed=0, shuffle=False)
    assert train.tolist() == list(range(6)) and val.tolist() == [6, 7] and test.tolist() == [8, 9]


def test_limit_is_stratified_and_seeded():
    y = labels([700, 300])
    keep = limit_indices(y, 1000, 100, seed=0)
    assert np.bincount(y[keep]).tolist() == [70, 30]
    assert np.array_equal(keep, limit_indices(y, 1000, 100, seed=0))
    assert limit_indices(y, 1000, 5000, seed=0).size == 1000


def test_limit_in_prepare_data():
    data = prepare_data(spec("builtin:digits", limit=200), seed=0)
    assert len(data.train) + len(data.val) + len(data.test) == 200


@pytest.mark.parametrize("stratify", [True, False])
def test_kfold_indices(stratify):
    y = labels([30, 18, 12])
    folds = kfold_indices(y, 3, seed=0, stratify=stratify)
    assert len(folds) == 3
    vals = np.concatenate([val for _, val in folds])
    assert np.array_equal(np.sort(vals), np.arange(60))
    for train, val in folds:
        assert not set(train) & set(val) and len(train) + len(val) == 60
        if stratify:
            assert np.bincount(y[val]).tolist() == [10, 6, 4]
    again = kfold_indices(y, 3, seed=0, stratify=stratify)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again, strict=True))
    with pytest.raises(DataError, match="too few rows for 100-fold"):
        kfold_indices(y, 100, seed=0)


def test_prepare_folds_share_test_and_refit(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=120), "b": rng.exponential(size=120),
                          "y": np.arange(120) % 2})
    frame.to_csv(tmp_path / "t.csv", index=False)
    data_spec = spec(tmp_path / "t.csv", target="y")
    whole = prepare_data(data_spec, seed=7)
    folds = prepare_folds(data_spec, seed=7, k=4)
    assert len(folds) == 4
    seen_val = []
    for fold in folds:
        np.testing.assert_array_equal(fold.test.index, whole.test.index)
        np.testing.assert_array_equal(fold.test.y, whole.test.y)
        assert not set(fold.train.index) & set(fold.test.index)
        assert not set(fold.train.index) & set(fold.val.index)
        raw_train = frame["a"].to_numpy()[fold.train.index]
        assert fold.preprocess["scaler"]["center"][0] == pytest.approx(raw_train.mean())
        seen_val.append(fold.val.index)
    train_val = np.sort(np.concatenate([whole.train.index, whole.val.index]))
    assert np.array_equal(np.sort(np.concatenate(seen_val)), train_val)
    centers = {fold.preprocess["scaler"]["center"][0] for fold in folds}
    assert len(centers) == 4  # refitted on each fold
