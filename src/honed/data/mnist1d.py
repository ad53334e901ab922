"""MNIST-1D: ten 1-D digit templates, randomly padded, scaled, shifted, sheared and noised.

A port of the reference generator of Greydanus, "Scaling down deep learning" (2020),
https://github.com/greydanus/mnist1d (``mnist1d/data.py`` and ``mnist1d/transform.py``,
Apache License 2.0, copyright Sam Greydanus and Peter Steinbach). With the default arguments
and seed it draws the same random numbers in the same order as the reference and yields the
same 5000 sequences (equal to within 1e-15); the differences are that randomness comes from a local
``numpy.random.RandomState`` rather than the global one, and that the per-sample arithmetic
runs on the whole batch at once (the reference loop takes about a second).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["make_mnist1d", "MNIST1D_DEFAULTS"]

# The reference's get_dataset_args(), minus the download URL and the train/test split
# (honed makes its own splits).
MNIST1D_DEFAULTS: dict = {
    "num_samples": 5000,
    "template_len": 12,
    "padding": (36, 60),
    "scale_coeff": 0.4,
    "max_translation": 48,
    "corr_noise_scale": 0.25,
    "iid_noise_scale": 2e-2,
    "shear_scale": 0.75,
    "final_seq_length": 40,
    "seed": 42,
}


def _templates() -> np.ndarray:
    """The ten hand-drawn digit templates, whitened and shifted to start at 0 (10, 12)."""
    rows = [
        [5, 6, 6.5, 6.75, 7, 7, 7, 7, 6.75, 6.5, 6, 5],
        [5, 3, 3, 3.4, 3.8, 4.2, 4.6, 5, 5.4, 5.8, 5, 5],
        [5, 6, 6.5, 6.5, 6, 5.25, 4.75, 4, 3.5, 3.5, 4, 5],
        [5, 6, 6.5, 6.5, 6, 5, 5, 6, 6.5, 6.5, 6, 5],
        [5, 4.4, 3.8, 3.2, 2.6, 2.6, 5, 5, 5, 5, 5, 5],
        [5, 3, 3, 3, 3, 5, 6, 6.5, 6.5, 6, 4.5, 5],
        [5, 4, 3.5, 3.25, 3, 3, 3, 3, 3.25, 3.5, 4, 5],
        [5, 7, 7, 6.6, 6.2, 5.8, 5.4, 5, 4.6, 4.2, 5, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 4, 3.5, 3.5, 4, 5],
        [5, 4, 3.5, 3.5, 4, 5, 5, 5, 5, 4.7, 4.3, 5],
    ]
    x = np.asarray(rows, dtype=np.float64)
    x -= x.mean(1, keepdims=True)
    x /= x.std(1, keepdims=True)
    x -= x[:, :1]
    return x / 6.0


def _interp_rows(values: np.ndarray, lengths: np.ndarray, n_out: int) -> np.ndarray:
    """Linear resampling of each row's first ``lengths[i]`` values onto ``n_out`` even points.

    Written out as scipy's ``interp1d(kind="linear")`` computes it (searchsorted, clip, slope),
    so that every row comes out as the reference's per-row call does.
    """
    rows = np.arange(values.shape[0])[:, None]
    new = np.linspace(0.0, 1.0, n_out)
    grids = [np.linspace(0.0, 1.0, n) for n in range(int(lengths.max()) + 1)]
    x_old = np.zeros((values.shape[0], values.shape[1]))
    for n in np.unique(lengths):
        x_old[lengths == n, :n] = grids[n]
    hi = np.empty((values.shape[0], n_out), dtype=np.int64)
    for n in np.unique(lengths):
        hi[lengths == n] = np.searchsorted(grids[n], new).clip(1, n - 1)
    lo = hi - 1
    x_lo, x_hi = x_old[rows, lo], x_old[rows, hi]
    y_lo, y_hi = values[rows, lo], values[rows, hi]
    slope = (y_hi - y_lo) / (x_hi - x_lo)
    return slope * (new - x_lo) + y_lo


@lru_cache(maxsize=2)
def _generate(seed: int, num_samples: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy.ndimage import gaussian_filter1d

    a = MNIST1D_DEFAULTS
    rng = np.random.RandomState(seed)
    templates = _templates()
    low, high = a["padding"]
    width = a["template_len"] + high  # 72: every padded template is stretched to this length
    per_class = num_samples // len(templates)
    n = per_class * len(templates)
    labels = np.repeat(np.arange(len(templates)), per_class)

    # Draw in the reference's order (pad, scale, translate, correlated noise, iid noise, shear
    # for each sample, classes in turn), so the same seed gives the same data.
    pads = np.empty(n, dtype=np.int64)
    scales = np.empty(n)
    shifts = np.empty(n, dtype=np.int64)
    corr = np.empty((n, width))
    iid = np.empty((n, width))
    shears = np.empty(n)
    for i in range(n):
        pads[i] = low + int(rng.rand() * (high - low + 1))
        scales[i] = 1 + a["scale_coeff"] * (rng.rand() - 0.5)
        shifts[i] = rng.choice(a["max_translation"])
        corr[i] = a["corr_noise_scale"] * rng.randn(width)
        iid[i] = a["iid_noise_scale"] * rng.randn(width)
        shears[i] = a["shear_scale"] * (rng.rand() - 0.5)
    order = rng.permutation(n)

    # pad with zeros, then stretch to `width` points
    padded = np.zeros((n, a["template_len"] + high))
    padded[:, : a["template_len"]] = templates[labels] + 1e-8
    x = _interp_rows(padded, a["template_len"] + pads, width)
    x *= scales[:, None]
    # translate: the reference's concatenate([x[-k:], x[:-k]]) is a roll by k
    x = x[np.arange(n)[:, None], (np.arange(width)[None, :] - shifts[:, None]) % width]
    # correlated noise where the signal is exactly zero (the padding), iid noise everywhere
    x = np.where(x != 0, x, gaussian_filter1d(corr, 2, axis=-1))
    x = x + iid
    x = x - shears[:, None] * np.linspace(-0.5, 0.5, width)
    x = _interp_rows(x, np.full(n, width), a["final_seq_length"])

    x, y = x[order], labels[order]
    x = (x - x.mean()) / x.std()
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def make_mnist1d(seed: int = MNIST1D_DEFAULTS["seed"],
                 num_samples: int = MNIST1D_DEFAULTS["num_samples"]) -> tuple[np.ndarray, np.ndarray]:
    """Generate MNIST-1D with the reference's default arguments.

    Args:
        seed: Seed of the local random state (42 reproduces the published data).
        num_samples: Total number of sequences, split evenly across the ten classes.

    Returns:
        ``(x, y)``: float64 ``(num_samples, 40)`` sequences, standardized over the whole set as
        the reference does, and int64 labels ``(num_samples,)``. Fresh copies each call;
        generation runs once per process and argument pair.
    """
    x, y = _generate(int(seed), int(num_samples))
    return x.copy(), y.copy()
