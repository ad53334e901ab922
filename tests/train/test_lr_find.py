"""The LR range test: suggestions read off known curves, and a real sweep."""

from __future__ import annotations

import numpy as np
import pytest

from honed.spec.schema import TrainSpec
from honed.train.lr_find import lr_find, suggest
from tests.helpers import blobs, tiny_net


def test_suggest_on_a_known_curve():
    lrs = list(np.logspace(-6, 1, 71))
    x = np.log10(lrs)
    # flat, then falling fastest around 1e-3, lowest near 1e-1, then blowing up
    curve = 2.0 - np.tanh((x + 3.0) * 1.5) + np.where(x > -1, (x + 1) ** 2 * 20, 0.0)
    result = suggest(lrs, list(curve), list(curve))
    assert 10 ** -3.3 < result.suggested_lr < 10 ** -2.7
    assert 10 ** -1.6 < result.min_loss_lr < 10 ** -0.4
    assert result.diverged_at is not None and result.diverged_at > result.min_loss_lr
    low, high = result.search_range
    assert low == pytest.approx(result.suggested_lr / 10) and high == result.min_loss_lr


def test_real_sweep_finds_a_sensible_lr():
    train = TrainSpec(batch_size=16, optimizer={"name": "sgd", "lr": 0.1})
    result = lr_find(tiny_net(), blobs(), train, steps=80, start_lr=1e-5, end_lr=100.0)
    assert 1e-4 < result.suggested_lr < 10
    assert len(result.lrs) == len(result.losses) == len(result.smoothed) >= 10
    assert result.lrs == sorted(result.lrs)


def test_too_short_a_curve_is_refused():
    with pytest.raises(ValueError, match="diverged in the first steps"):
        suggest([1e-3, 1e-2], [1.0, float("nan")], [1.0, 2.0])
