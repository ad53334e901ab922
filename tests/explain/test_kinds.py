"""Input kinds group what the user sees: columns, channels and regions, time windows."""

from __future__ import annotations

import numpy as np
import pytest

from honed.data.dataset import PreparedData, Split
from honed.errors import UserInputError
from honed.explain.kinds import feature_mask, input_kind


def _data(kind: str, shape: tuple[int, ...]) -> PreparedData:
    x = np.random.default_rng(0).normal(size=(20, *shape)).astype(np.float32)
    split = Split(x, np.zeros(20, dtype=np.int64))
    return PreparedData(train=split, val=split, test=split, task="classification", kind=kind,
                        input_shape=shape, num_outputs=2,
                        preprocess={"kind": kind, "scaler": {"method": "none"},
                                    "input_shape": list(shape)})


def _covers_once(groups, size: int) -> bool:
    index = np.concatenate([g.index for g in groups])
    return sorted(index.tolist()) == list(range(size))


def test_images_are_grouped_by_channel_and_by_region_of_at_most_4x4():
    data = _data("image", (3, 28, 28))
    groups = input_kind("image").groups(data)
    channels = [g for g in groups if g.kind == "channel"]
    regions = [g for g in groups if g.kind == "region"]
    assert len(channels) == 3 and len(regions) == 16  # 28 / ceil(28 / 4) = 4 per side
    assert _covers_once(channels, 3 * 28 * 28) and _covers_once(regions, 3 * 28 * 28)
    assert input_kind("image").window((3, 28, 28)) == (3, 4, 4)


def test_long_sequences_are_grouped_into_at_most_32_windows():
    data = _data("sequence", (200, 2))
    groups = input_kind("sequence").groups(data)
    time = [g for g in groups if g.kind == "time"]
    assert len(time) == 29 and time[0].name == "t=0-6" and _covers_once(time, 400)
    assert [g.name for g in groups if g.kind == "channel"] == ["channel 0", "channel 1"]
    mask = feature_mask(time, (200, 2))
    assert mask.shape == (200, 2) and mask[7, 1] == 1


def test_baselines_are_recorded_and_fit_the_input():
    for kind, shape in (("table", (5,)), ("sequence", (12, 1))):
        baseline = input_kind(kind).baseline(_data(kind, shape))
        assert baseline.values.shape == shape and baseline.description


def test_an_unknown_kind_is_one_line_naming_those_that_are_explained():
    with pytest.raises(UserInputError, match="explains: table, image, sequence, text"):
        input_kind("tokens")
