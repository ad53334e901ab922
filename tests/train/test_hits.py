"""The training loop's count of correct predictions, a few batches at a time."""

from __future__ import annotations

import pytest
import torch

from honed.train.hits import Hits


@pytest.mark.parametrize("flush", [1, 50, 1 << 20])  # every batch, across batches, at the end
@pytest.mark.parametrize("soft", [False, True])  # class indices, or soft (mixup) label rows
def test_hits_equal_a_count_batch_by_batch(monkeypatch, flush, soft):
    monkeypatch.setattr(Hits, "FLUSH_ELEMENTS", flush)
    generator = torch.Generator().manual_seed(0)
    hits, expected = Hits(torch.device("cpu")), 0
    for size in (8, 8, 5, 8, 3):
        outputs = torch.randn(size, 4, generator=generator)
        labels = torch.randint(0, 4, (size,), generator=generator)
        y = torch.nn.functional.one_hot(labels, 4).float() * 0.8 + 0.05 if soft else labels
        hits.add(outputs, y)
        expected += int((outputs.argmax(1) == labels).sum())
    assert hits.count().item() == expected
    assert hits.count().item() == expected  # counting again adds nothing
