"""Seeded train/val/test splits, row limits and k folds, stratified by class when asked."""

from __future__ import annotations

import numpy as np

from honed.errors import DataError

__all__ = ["split_indices", "limit_indices", "kfold_indices", "split_sizes"]

# Separate streams per purpose: the test split depends on the seed and the labels only, so it is
# the same whatever the val fraction, the row limit or the number of folds.
_TEST, _VAL, _LIMIT, _FOLDS = 1, 2, 3, 4


def split_sizes(n: int, val: float, test: float) -> tuple[int, int, int]:
    """Rows for (train, val, test): rounded, at least one in any split asked for.

    Raises:
        DataError: Fewer than two rows would be left for training.
    """
    n_test = max(round(n * test), 1) if test > 0 else 0
    n_val = max(round(n * val), 1) if val > 0 else 0
    n_train = n - n_val - n_test
    if n_train < 2:
        raise DataError(f"too few rows for the split: {n} rows cannot make val={val}, "
                        f"test={test} and still train on at least 2")
    return n_train, n_val, n_test


def split_indices(y: np.ndarray | None, n: int, *, val: float, test: float, seed: int,
                  stratify: bool = True, shuffle: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions ``0..n-1`` divided into sorted (train, val, test) index arrays.

    Args:
        y: Integer class codes to stratify by, or ``None``.
        n: Number of rows.
        val: Fraction of rows for validation.
        test: Fraction of rows for test.
        seed: Seed; the same seed and labels give the same split.
        stratify: Keep class proportions in every split (needs ``y``).
        shuffle: ``False`` keeps row order: train first, then val, then test.

    Raises:
        DataError: Too few rows for the fractions.
    """
    _, n_val, n_test = split_sizes(n, val, test)
    rows = np.arange(n)
    if not shuffle:
        cut_val, cut_test = n - n_val - n_test, n - n_test
        return rows[:cut_val], rows[cut_val:cut_test], rows[cut_test:]
    labels = y if stratify and y is not None else None
    test_idx = _draw(rows, labels, n_test, np.random.default_rng([seed, _TEST]), keep=1)
    # what np.setdiff1d gives on these sorted, distinct positions, by a mask instead of a sort
    free = np.ones(n, dtype=bool)
    free[test_idx] = False
    rest = rows[free]
    val_idx = _draw(rest, None if labels is None else labels[rest], n_val,
                    np.random.default_rng([seed, _VAL]), keep=1)
    free[val_idx] = False
    train_idx = rows[free]
    for name, fraction, taken in (("test", test, test_idx), ("val", val, val_idx)):
        if fraction > 0 and taken.size == 0:
            raise DataError(f"too few rows for the split: {n} rows leave the {name} split empty")
    return train_idx, np.sort(val_idx), np.sort(test_idx)


def limit_indices(y: np.ndarray | None, n: int, limit: int, *, seed: int,
                  stratify: bool = True) -> np.ndarray:
    """Sorted positions of at most ``limit`` rows drawn with ``seed`` (class shares kept)."""
    if limit >= n:
        return np.arange(n)
    labels = y if stratify and y is not None else None
    return np.sort(_draw(np.arange(n), labels, limit, np.random.default_rng([seed, _LIMIT]),
                         keep=0))


def kfold_indices(y: np.ndarray | None, k: int, *, seed: int, stratify: bool = True,
                  n: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train, val) pairs of sorted positions; every row is in exactly one val part.

    Args:
        y: Class codes (stratified when ``stratify``) or ``None``; float targets are never
            stratified.
        k: Number of folds, at least 2.
        seed: Seed of the shuffle.
        stratify: Deal each class evenly across the folds.
        n: Number of rows when ``y`` is ``None``.

    Raises:
        DataError: ``k`` < 2 or more folds than rows.
    """
    size = len(y) if y is not None else n
    if size is None:
        raise ValueError("kfold_indices needs y or n")
    if k < 2:
        raise DataError(f"k-fold needs k >= 2; got {k}")
    if size < k:
        raise DataError(f"too few rows for {k}-fold: {size}")
    rng = np.random.default_rng([seed, _FOLDS])
    if stratify and y is not None and np.issubdtype(np.asarray(y).dtype, np.integer):
        y = np.asarray(y)
        # class by class, shuffled, dealt round-robin: each fold gets its share of every class
        # and fold sizes differ by at most one
        order = np.concatenate([rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)])
    else:
        order = rng.permutation(size)
    fold_of = np.empty(size, dtype=np.int64)
    fold_of[order] = np.arange(size) % k
    rows = np.arange(size)
    return [(rows[fold_of != f], rows[fold_of == f]) for f in range(k)]


def _draw(pool: np.ndarray, labels: np.ndarray | None, count: int, rng: np.random.Generator,
          *, keep: int) -> np.ndarray:
    """``count`` members of ``pool``; with labels, per class in proportion to its size.

    ``keep`` members of each class stay behind when possible, so that a rare class is never
    taken whole into val or test and missing from training.
    """
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    if labels is None:
        return rng.permutation(pool)[:count]
    classes, members = np.unique(labels, return_inverse=True)
    sizes = np.bincount(members, minlength=len(classes))
    caps = np.maximum(sizes - keep, 0)
    quota = _largest_remainder(sizes, count, caps)
    chosen = [rng.permutation(pool[members == c])[: quota[c]] for c in range(len(classes))]
    return np.concatenate(chosen)


def _largest_remainder(sizes: np.ndarray, total: int, caps: np.ndarray) -> np.ndarray:
    """Integer shares of ``total`` proportional to ``sizes``, each at most its cap."""
    exact = sizes * total / sizes.sum()
    quota = np.minimum(np.floor(exact).astype(np.int64), caps)
    remainder = exact - quota
    while quota.sum() < total:
        room = quota < caps
        if not room.any():
            break
        # the class furthest below its exact share gets the next row
        best = int(np.argmax(np.where(room, remainder, -np.inf)))
        quota[best] += 1
        remainder[best] -= 1.0
    return quota
