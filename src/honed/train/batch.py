"""``train.batch_size: auto``: a batch that grows with the training set, within bounds.

A fixed batch of 64 spends most of a large table's epoch in per-step overhead: on 500k rows,
1,024 made epochs several times faster. ``auto`` takes the largest power of two that still
gives :data:`STEPS_PER_EPOCH` optimizer steps per epoch, between :data:`SMALLEST` (the fixed
default, so small tables train exactly as with ``64``) and :data:`LARGEST`. It looks at the
row count only, not at accuracy: ``honed tune`` can search ``batch_size`` where that matters.
"""

from __future__ import annotations

__all__ = ["pick_batch_size", "SMALLEST", "LARGEST", "STEPS_PER_EPOCH"]

SMALLEST = 64
LARGEST = 1024
#: fewer steps than this per epoch and a fixed epoch budget starts to cost accuracy
STEPS_PER_EPOCH = 400


def pick_batch_size(setting: int | str, rows: int) -> int:
    """The batch for ``rows`` training rows: ``setting`` itself, or ``auto``'s choice.

    Never more than ``rows`` (a batch larger than the data is the whole data).
    """
    if setting != "auto":
        return max(1, min(int(setting), rows))
    batch = SMALLEST
    while batch * 2 <= LARGEST and rows // (batch * 2) >= STEPS_PER_EPOCH:
        batch *= 2
    return max(1, min(batch, rows))
