"""``train.batch_size: auto``: grows with the training rows, within bounds, and says so."""

from __future__ import annotations

import numpy as np
import pytest

from honed.data.dataset import PreparedData, Split
from honed.errors import SpecError
from honed.train import Trainer, fit, make_train_spec
from honed.train.batch import pick_batch_size
from honed.train.session import runtime_record
from tests.helpers import blobs, tiny_net


@pytest.mark.parametrize(("rows", "batch"), [
    (10, 10), (1_000, 64), (51_199, 64), (51_200, 128), (102_400, 256), (409_600, 1024),
    (500_000, 1024), (10_000_000, 1024),
])
def test_auto_keeps_400_steps_per_epoch_between_64_and_1024(rows, batch):
    assert pick_batch_size("auto", rows) == batch


def test_a_number_is_kept_and_capped_by_the_rows():
    assert pick_batch_size(32, 1000) == 32
    assert pick_batch_size(4096, 1000) == 1000


def test_the_trainer_and_the_record_use_auto_s_choice():
    rows = 60_000
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 6)).astype(np.float32)
    y = rng.integers(0, 3, size=rows).astype(np.int64)
    small = blobs()
    data = PreparedData(train=Split(x, y), val=small.val, test=small.test, task="classification",
                        kind="table", input_shape=(6,), num_outputs=3)
    trainer = Trainer(tiny_net(), data, make_train_spec(batch_size="auto"))
    assert trainer.batch_size == 128
    assert trainer.steps_per_epoch == rows // 128 + 1
    result = fit(tiny_net(), blobs(), epochs=1, batch_size="auto")
    assert result.extra["trainer"].batch_size == 64
    assert runtime_record(result.extra["trainer"])["batch_size"] == 64
    assert "batch_size" not in runtime_record(fit(tiny_net(), blobs(), epochs=1).extra["trainer"])


@pytest.mark.parametrize("value", ["big", 0, 2.5, True, 1 << 21])
def test_a_bad_batch_size_is_one_clear_line(value):
    with pytest.raises(SpecError, match=r"train\.batch_size must be a whole number from 1 to "
                                        r"1048576, or auto; got"):
        make_train_spec(batch_size=value)
